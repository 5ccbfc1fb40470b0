// Package console is storehub's web console: server-rendered HTML
// (html/template) with its stylesheet and one small script embedded in the
// binary, so it works offline and loads nothing from elsewhere.
//
// People log in with an API token; the console keeps a session in an
// HttpOnly, SameSite=Strict cookie and checks a per-session token on every
// form (CSRF). Roles are the API's: viewers read, engineers also act on
// incidents, query devices and manage maintenance windows. Actions and
// queries run through hub/api's own methods, so the console and the API
// behave alike.
//
// Pages: incidents with filters and paging, an incident with its timeline
// and actions, stores and their devices with live state, a device with its
// identity, history and "Query now", maintenance windows. The Reports page
// (hub/reports) has its place marked in the routes and the navigation.
package console
