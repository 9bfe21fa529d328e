package devoidc

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"

	"github.com/go-logr/logr"
)

const (
	// loginPath serves the login page; the op package sends the browser there from /authorize.
	loginPath = "/login"
	// authRequestIDParam names the authorization request in the login URL and form.
	authRequestIDParam = "authRequestID"

	// msgWrongCredentials does not say which of the two was wrong, as real providers do not.
	msgWrongCredentials = "Wrong username or password."
	msgUnknownRequest   = "This sign-in request is unknown or has expired. Start the sign-in again from the application."
)

func loginURL(authRequestID string) string {
	return loginPath + "?" + url.Values{authRequestIDParam: {authRequestID}}.Encode()
}

// loginPage is plain HTML without JavaScript, so that it works in any browser and a headless one
// can fill it by element id. The ids are part of the package's contract (see doc.go).
var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - bindery development OIDC</title>
<style>
body { font-family: sans-serif; background: #f4f5f7; margin: 0; }
main { max-width: 22rem; margin: 4rem auto; padding: 2rem; background: #fff; border-radius: 6px; }
h1 { margin-top: 0; font-size: 1.4rem; }
label, input, button { display: block; width: 100%; box-sizing: border-box; }
input { margin: 0.3rem 0 1rem; padding: 0.5rem; }
button { padding: 0.6rem; }
#error { color: #a00; }
.note { color: #666; font-size: 0.85rem; }
</style>
</head>
<body>
<main>
<h1>Sign in</h1>
<p class="note">bindery development identity provider: for development and tests only.</p>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>{{end}}
{{if .AuthRequestID}}<form id="login-form" method="post" action="{{.Action}}">
<input type="hidden" name="authRequestID" value="{{.AuthRequestID}}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="{{.Username}}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="login" type="submit">Sign in</button>
</form>{{end}}
</main>
</body>
</html>
`))

type loginPageData struct {
	Action        string
	AuthRequestID string
	Username      string
	Error         string
}

// loginHandler shows the login form for an authorization request and, once the password is right,
// marks the request as signed in and sends the browser back to the op package's callback, which
// redirects to the client with the code.
type loginHandler struct {
	storage *storage
	log     logr.Logger
	// callbackURL is where the op package completes an authorization request after the login.
	callbackURL func(r *http.Request, authRequestID string) string
}

func (h *loginHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.showForm(w, r)
	case http.MethodPost:
		h.submit(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (h *loginHandler) showForm(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get(authRequestIDParam)
	if err := h.storage.pendingLogin(id); err != nil {
		h.log.Info("Login page asked for no pending authorization request", "reason", err.Error())
		h.render(w, http.StatusBadRequest, loginPageData{Error: msgUnknownRequest})
		return
	}
	h.render(w, http.StatusOK, loginPageData{Action: loginPath, AuthRequestID: id})
}

func (h *loginHandler) submit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot parse the login form: "+err.Error(), http.StatusBadRequest)
		return
	}
	id, username := r.PostForm.Get(authRequestIDParam), r.PostForm.Get("username")
	if err := h.storage.pendingLogin(id); err != nil {
		h.log.Info("Login for no pending authorization request", "reason", err.Error())
		h.render(w, http.StatusBadRequest, loginPageData{Error: msgUnknownRequest})
		return
	}
	user, ok := h.storage.checkPassword(username, r.PostForm.Get("password"))
	if !ok {
		h.log.Info("Wrong username or password", "username", username)
		h.render(w, http.StatusUnauthorized, loginPageData{
			Action: loginPath, AuthRequestID: id, Username: username, Error: msgWrongCredentials,
		})
		return
	}
	if err := h.storage.completeLogin(id, user.Subject()); err != nil {
		h.render(w, http.StatusBadRequest, loginPageData{Error: msgUnknownRequest})
		return
	}
	h.log.Info("Signed in", "username", user.Username, "subject", user.Subject())
	// 303: the browser follows with a GET, whatever the method of the form.
	http.Redirect(w, r, h.callbackURL(r, id), http.StatusSeeOther)
}

func (h *loginHandler) render(w http.ResponseWriter, status int, data loginPageData) {
	var page bytes.Buffer
	if err := loginPage.Execute(&page, data); err != nil {
		h.log.Error(err, "Rendering the login page")
		http.Error(w, "cannot render the login page", http.StatusInternalServerError)
		return
	}
	header := w.Header()
	header.Set("Content-Type", "text/html; charset=utf-8")
	header.Set("Cache-Control", "no-store")
	// No scripts, no framing. form-action is left out on purpose: browsers apply it to the
	// redirects after the submit too, and those end at the client's redirect URI.
	header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = page.WriteTo(w)
}
