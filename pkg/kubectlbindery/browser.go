package kubectlbindery

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// openBrowser starts the user's browser on url. It returns once the opener has started: the
// browser's own fate is beyond it, and login prints the URL anyway.
func openBrowser(url string) error {
	argv := browserCommand(runtime.GOOS, os.Getenv("BROWSER"), url)
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", argv[0], err)
	}
	go cmd.Wait() //nolint:errcheck // reaps the opener; its exit status says nothing about the sign-in.
	return nil
}

// browserCommand is the command line that opens url: the first entry of $BROWSER when it is set
// (a colon-separated list of commands, "%s" standing for the URL, else the URL is appended), or
// the desktop's opener.
func browserCommand(goos, browserEnv, url string) []string {
	if first, _, _ := strings.Cut(browserEnv, ":"); strings.TrimSpace(first) != "" {
		argv := strings.Fields(first)
		substituted := false
		for i, arg := range argv {
			if strings.Contains(arg, "%s") {
				argv[i], substituted = strings.ReplaceAll(arg, "%s", url), true
			}
		}
		if !substituted {
			argv = append(argv, url)
		}
		return argv
	}
	switch goos {
	case "darwin":
		return []string{"open", url}
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler", url}
	default:
		return []string{"xdg-open", url}
	}
}
