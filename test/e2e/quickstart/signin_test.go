package quickstart

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bindery-dev/bindery/pkg/devoidc"
	"github.com/bindery-dev/bindery/test/framework"
)

// signIn is the part of a command the reader does in the browser: sign in at the development
// issuer as user, then pick the Service on the backend's page.
type signIn struct {
	user, pick string
}

// browserEnv makes the page's commands open "the browser" by recording the URL in a file the
// test reads ($BROWSER is what kubectl bindery opens URLs with), and keeps kubectl bindery's
// sessions in the test's own config folder.
type browserEnv struct {
	opened string
	env    []string
}

func newBrowserEnv(t *testing.T) browserEnv {
	t.Helper()
	dir := t.TempDir()
	opened := filepath.Join(dir, "opened-urls")
	open := filepath.Join(dir, "open-url")
	if err := os.WriteFile(open, []byte("#!/bin/sh\necho \"$1\" >> "+opened+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return browserEnv{opened: opened, env: []string{"BROWSER=" + open, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}}
}

// runWithSignIn runs script like shell does, and when it opens a URL, signs in there in a
// headless Chromium as the reader would.
func runWithSignIn(t *testing.T, dir string, env []string, b browserEnv, script string, how signIn) (string, error) {
	t.Helper()
	_ = os.Remove(b.opened)
	cmd := exec.Command("bash", "-c", "set -eo pipefail\n"+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out := &framework.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	url, err := waitForOpenedURL(b.opened, exited)
	if err != nil {
		return out.String(), err
	}
	password := passwordOf(t, filepath.Join(dir, ".bindery", "backend", "users.yaml"), how.user)
	ctx, cancel := context.WithTimeout(framework.Browser(t, true), 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), how.user),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("pick-"+how.pick)),
		chromedp.Click(chromedp.ID("pick-"+how.pick)),
	); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("signing in as %s at %s: %v\npage:\n%s\ncommand output:\n%s", how.user, url, err, page, out)
	}
	select {
	case err = <-exited:
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		err = <-exited
	}
	return out.String(), err
}

// waitForOpenedURL returns the first URL the command opened, or the command's end.
func waitForOpenedURL(path string, exited <-chan error) (string, error) {
	deadline := time.After(2 * time.Minute)
	for {
		if data, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(data)) != "" {
			return strings.Fields(string(data))[0], nil
		}
		select {
		case err := <-exited:
			if err == nil {
				err = errors.New("the command ended without opening a browser")
			}
			return "", err
		case <-deadline:
			return "", errors.New("the command opened no browser within 2 minutes")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// passwordOf reads a user's password from the users file make run wrote for the issuer.
func passwordOf(t *testing.T, usersFile, name string) string {
	t.Helper()
	users, err := devoidc.LoadUsers(usersFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Username == name {
			return u.Password
		}
	}
	t.Fatalf("%s has no user %s", usersFile, name)
	return ""
}
