package backend

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bindery-dev/bindery/pkg/bindclient"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestCLILoginSurvivesABackendRestart: `kubectl bindery login` prints the sign-in URL, the browser
// completes the login the CLI started, the CLI keeps the session, and the session still works
// after the backend was killed and started again (its key is a Secret on the provider cluster).
func TestCLILoginSurvivesABackendRestart(t *testing.T) {
	backend := startBackend(t)
	p := newProvisioning(t)
	databases := p.databases()
	p.waitChecked(databases, metav1.ConditionTrue)
	p.grantBind(alice.Username(), databases.Name)
	// The CLI keeps sessions under the user's config dir; the test's own, for it and for bindclient.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cli := framework.Binary(t, "./cmd/kubectl-bindery")

	login := exec.CommandContext(framework.Context(t), cli, "login", backend.url, "--no-browser", "--timeout", "2m")
	var stdout bytes.Buffer
	login.Stdout = &stdout
	stderr, err := login.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	signInURL := printedURL(t, bufio.NewScanner(stderr))
	browser := framework.Browser(t, true)
	steps, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()
	act(t, steps, chromedp.Navigate(signInURL))
	enterCredentials(t, steps, alice)
	if err := login.Wait(); err != nil {
		t.Fatalf("kubectl bindery login: %v\n%s", err, stdout.String())
	}
	if out := stdout.String(); !strings.Contains(out, "Signed in to "+backend.url) || !strings.Contains(out, alice.Username()) {
		t.Errorf("kubectl bindery login printed %q, want who signed in where", out)
	}
	if page := text(t, steps, "title"); !strings.Contains(page, "Signed in") {
		t.Errorf("the browser shows %q after the login, want that it worked", page)
	}

	whoami, err := exec.Command(cli, "whoami", backend.url).CombinedOutput()
	if err != nil || !strings.Contains(string(whoami), alice.Username()) {
		t.Errorf("kubectl bindery whoami: %v\n%s", err, whoami)
	}

	backend.restart(t)
	session, err := bindclient.LoadSession(backend.url)
	if err != nil {
		t.Fatalf("the stored session: %v", err)
	}
	listed, err := apiClient(t, backend.url, session).Services(framework.Context(t))
	if err != nil {
		t.Fatalf("the session no longer works after the backend restarted: %v", err)
	}
	if len(listed) != 1 || listed[0].Name != databases.Name {
		t.Errorf("after the restart the API lists %+v, want %s", listed, databases.Name)
	}
}

// printedURL reads the CLI's output until the sign-in URL it prints.
func printedURL(t *testing.T, lines *bufio.Scanner) string {
	t.Helper()
	var seen []string
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		if strings.HasPrefix(line, "http://") || strings.HasPrefix(line, "https://") {
			return line
		}
		seen = append(seen, line)
	}
	t.Fatalf("kubectl bindery login printed no URL:\n%s", strings.Join(seen, "\n"))
	return ""
}
