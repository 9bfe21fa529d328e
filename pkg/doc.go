// Package pkg is the root of bindery's implementation: one package per responsibility (the sync
// engine, the syncagent's publishing, the manager's fleet controllers). Packages under pkg/ may
// import providers/ and apis/, never cmd/ or test/.
package pkg
