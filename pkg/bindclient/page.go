package bindclient

import (
	"html/template"
	"net/http"
	"unicode"
)

// page is what the browser shows when it comes back to the loopback address. It is plain HTML
// without scripts or outside resources; the headers keep the code out of caches and referrers.
var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}} · bindery</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}</style>
</head>
<body>
<h1 id="title">{{.Title}}</h1>
<p id="message">{{.Message}}</p>
<p>{{.Hint}}</p>
</body>
</html>
`))

type pageData struct {
	Title, Message, Hint string
}

var (
	signedInPage = pageData{Title: "Signed in.", Message: "You can close this tab and return to your terminal."}
	answeredPage = pageData{Title: "Already answered", Message: "This sign-in has already come back to your terminal.", Hint: "You can close this tab."}
)

// failedPage says in words why the sign-in did not work.
func failedPage(err error) pageData {
	msg := []rune(err.Error())
	if len(msg) > 0 {
		msg[0] = unicode.ToUpper(msg[0])
	}
	return pageData{Title: "Sign-in failed", Message: string(msg), Hint: "Return to your terminal to start again."}
}

// renderPage writes data as the browser's page.
func renderPage(w http.ResponseWriter, status int, data pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	_ = page.Execute(w, data)
}
