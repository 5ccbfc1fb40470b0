-- A timeline entry names the sentence its English text is (say) and the
-- words that fill it (args), so the console can say it in another language
-- (incident.Entry.Say, Args). Entries from before have neither: the console
-- shows their text.

-- +goose Up

ALTER TABLE timeline ADD COLUMN say text NOT NULL DEFAULT '', ADD COLUMN args jsonb;

-- +goose Down

ALTER TABLE timeline DROP COLUMN say, DROP COLUMN args;
