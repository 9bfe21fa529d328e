package quickstart

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadCommands(t *testing.T) {
	page := "# Title\n\n```sh\nmake run\n```\n\n## Two\n\n```sh\n# a comment\n" +
		"kubectl apply \\\n  -f x.yaml\n\nkubectl get x\n```\n\n```text\nnot a command\n```\n"
	path := filepath.Join(t.TempDir(), "page.md")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readCommands(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []command{
		{section: "Title", text: "make run"},
		{section: "Two", text: "kubectl apply -f x.yaml"},
		{section: "Two", text: "kubectl get x"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func TestReadCommandsRejectsUnterminatedBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "page.md")
	if err := os.WriteFile(path, []byte("# T\n```sh\nmake run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readCommands(path); err == nil {
		t.Fatal("expected an error for an unterminated block")
	}
}
