package backend

import (
	"embed"
	"errors"
	"html/template"
	"net/http"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

//go:embed templates/*.html
var templateFiles embed.FS

// pages are parsed once; each is the layout with its own content.
var pages = map[string]*template.Template{
	"home":  template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/home.html")),
	"error": template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/error.html")),
}

// pageData is what every page shows.
type pageData struct {
	Title      string
	Provider   string
	BackendURL string
	User       *bindprotocol.User
	// home
	Services []bindprotocol.Service
	Picking  bool
	CSRF     string
	// error
	Heading string
	Message string
}

func (s *Server) page(user *bindprotocol.User) pageData {
	return pageData{Title: s.opts.Title, Provider: s.opts.Title, BackendURL: s.opts.ExternalURL.String(), User: user}
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages[name].ExecuteTemplate(w, "layout", data); err != nil {
		s.log.Error(err, "rendering a page", "page", name)
	}
}

func (s *Server) renderError(w http.ResponseWriter, status int, heading, message string) {
	data := s.page(nil)
	data.Title, data.Heading, data.Message = heading, heading, message
	s.render(w, status, "error", data)
}

// home shows who is signed in and the Services they may bind; during a CLI login that asked
// for a pick, each available Service has a button that returns the pick to the CLI.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	sess, err := s.cookieSession(r)
	if errors.Is(err, errNoSession) {
		s.render(w, http.StatusOK, "home", s.page(nil))
		return
	}
	if err != nil {
		s.clearCookie(w, cookieSession)
		s.renderError(w, http.StatusUnauthorized, "Please sign in again", asAPIError(err).message)
		return
	}
	list, err := s.bindable(r.Context(), sess.User)
	if err != nil {
		s.log.Error(err, "listing Services", "user", sess.User.Username)
		s.renderError(w, http.StatusInternalServerError, "The services cannot be listed right now", err.Error())
		return
	}
	data := s.page(&sess.User)
	data.Services, data.Picking, data.CSRF = list, s.pendingCLI(r) != nil, s.csrfToken(sess)
	s.render(w, http.StatusOK, "home", data)
}

// pick returns the Service the user picked to the CLI that waits for it.
func (s *Server) pick(w http.ResponseWriter, r *http.Request) {
	sess, err := s.cookieSession(r)
	if err != nil {
		s.renderError(w, http.StatusUnauthorized, "Please sign in again", "You are not signed in (any more). Start again from your terminal.")
		return
	}
	if !s.checkCSRF(sess, r.PostFormValue("csrf")) {
		s.log.Info("refused a pick without a valid CSRF token", "user", sess.User.Username)
		s.renderError(w, http.StatusForbidden, "This form has expired", "The form was not rendered for this session. Go back to the start page and pick again.")
		return
	}
	cli := s.pendingCLI(r)
	if cli == nil {
		s.renderError(w, http.StatusBadRequest, "No terminal is waiting", "No kubectl bindery command waits for a pick in this browser (it took longer than 10 minutes?). Run the command again.")
		return
	}
	service := r.PostFormValue("service")
	if err := s.authz.mayBind(r.Context(), sess.User, service); err != nil {
		s.log.Info("refused a pick", "user", sess.User.Username, "service", service, "reason", err.Error())
		s.renderError(w, http.StatusForbidden, "You may not bind this service", asAPIError(err).message)
		return
	}
	s.log.Info("picked a Service", "user", sess.User.Username, "service", service)
	s.returnToCLI(w, r, cli, sess.User, service)
}
