// Package quickstart runs docs/quickstart.md as a newcomer would: every shell command on the page,
// in order, in a copy of the repository, starting with `make run` and ending with `make stop`. It
// then starts the environment a second time without cleanup, and checks that `make stop` leaves no
// process behind. The page cannot drift from what bindery does.
package quickstart
