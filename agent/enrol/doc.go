// Package enrol is the store PC's side of enrolment: storeagent enroll
// posts a wire.EnrolRequest with the enrolment token to the hub's API
// (Request), writes the broker password it gets back to a file only the
// service can read (WriteSecret: 0600 and the service's owner on Linux, a
// protected ACL for SYSTEM and Administrators on Windows), and points the
// agent configuration at it (Settings). Pending enrolments, given at
// install time by the MSI's or the deb's properties, are carried out by
// the service at its first start (Pending), retried until the hub answers.
package enrol
