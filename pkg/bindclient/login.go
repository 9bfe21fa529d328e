package bindclient

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

// DefaultLoginTimeout is how long Login waits for the browser to come back.
const DefaultLoginTimeout = 5 * time.Minute

// callbackPath is the one path the loopback listener answers.
const callbackPath = "/callback"

// ErrStateMismatch is returned when the browser comes back with a state that this login did not
// send: the answer belongs to another sign-in (or was slipped in by someone else) and is refused.
var ErrStateMismatch = errors.New("the browser came back with a state this sign-in did not send, so its answer was refused")

// LoginOptions configure Login.
type LoginOptions struct {
	// BackendURL is the backend's base URL.
	BackendURL string
	// SelectService asks the backend to let the user pick a Service; the pick is the Session's
	// Service.
	SelectService bool
	// OpenBrowser opens url in the user's browser and returns once it is launched. Nil, or an
	// error, leaves the user to open the printed URL.
	OpenBrowser func(url string) error
	// Out receives the URL and progress lines. Nil discards them.
	Out io.Writer
	// HTTPClient reaches the backend (see HTTPClient for a backend CA). Nil is http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds the wait for the browser to come back; zero is DefaultLoginTimeout.
	Timeout time.Duration
}

func (o *LoginOptions) setDefaults() {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultLoginTimeout
	}
}

// LoginError is a sign-in that the backend reported as failed when it sent the browser back.
type LoginError struct {
	// Code is the redirect's error parameter (access_denied, say).
	Code string
	// Description is the redirect's error_description, the backend's words.
	Description string
}

func (e *LoginError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("the sign-in failed: %s (%s)", e.Description, e.Code)
	}
	return fmt.Sprintf("the sign-in failed with %q and no description; the backend's log says why", e.Code)
}

// Login signs the user in at the backend through the browser and returns the Session. It
// listens on a random port of 127.0.0.1, opens (or prints) the backend's login URL with that
// loopback redirect, a fresh state and a PKCE challenge, waits for the one callback, and
// exchanges its code with the verifier. The browser is shown whether it worked.
func Login(ctx context.Context, opts LoginOptions) (*bindprotocol.Session, error) {
	opts.setDefaults()
	backend, err := NormalizeBackendURL(opts.BackendURL)
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on a loopback port for the browser to come back: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	flow := newLoginFlow(ctx, backend, opts, fmt.Sprintf("http://%s%s", listener.Addr(), callbackPath))
	server := &http.Server{Handler: flow, ReadHeaderTimeout: 10 * time.Second}
	go server.Serve(listener) //nolint:errcheck // Serve ends with ErrServerClosed at Shutdown.
	defer shutdown(server)

	announce(opts, flow.loginURL())
	select {
	case res := <-flow.done:
		return res.session, res.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("no sign-in came back from the browser within %s: %w", opts.Timeout, ctx.Err())
		}
		return nil, fmt.Errorf("sign-in canceled: %w", ctx.Err())
	}
}

// shutdown lets the callback's page reach the browser before the listener goes.
func shutdown(server *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = server.Shutdown(ctx)
}

// announce opens the browser, or tells the user to.
func announce(opts LoginOptions, loginURL string) {
	if opts.OpenBrowser == nil {
		fmt.Fprintf(opts.Out, "Open this URL in your browser to sign in:\n\n    %s\n\nWaiting for you to sign in (Ctrl-C to cancel)…\n", loginURL)
		return
	}
	if err := opts.OpenBrowser(loginURL); err != nil {
		fmt.Fprintf(opts.Out, "Could not open a browser (%v). Open this URL to sign in:\n\n    %s\n\nWaiting for you to sign in (Ctrl-C to cancel)…\n", err, loginURL)
		return
	}
	fmt.Fprintf(opts.Out, "Opening %s in your browser… waiting for you to sign in (Ctrl-C to cancel)\n", loginURL)
}

type loginResult struct {
	session *bindprotocol.Session
	err     error
}

// loginFlow is one sign-in in progress: its secrets and the loopback handler that completes it.
type loginFlow struct {
	ctx           context.Context
	backend       string
	redirectURI   string
	state         string
	verifier      string
	selectService bool
	httpClient    *http.Client

	// answered is set by the first callback; any later one is turned away.
	answered atomic.Bool
	// done carries the outcome; it holds one, so the handler never waits for Login.
	done chan loginResult
}

func newLoginFlow(ctx context.Context, backend string, opts LoginOptions, redirectURI string) *loginFlow {
	return &loginFlow{
		ctx:           ctx,
		backend:       backend,
		redirectURI:   redirectURI,
		state:         randomToken(24),
		verifier:      newCodeVerifier(),
		selectService: opts.SelectService,
		httpClient:    opts.HTTPClient,
		done:          make(chan loginResult, 1),
	}
}

// loginURL is the backend's login page for this flow.
func (f *loginFlow) loginURL() string {
	query := url.Values{
		bindprotocol.ParamRedirectURI:         {f.redirectURI},
		bindprotocol.ParamState:               {f.state},
		bindprotocol.ParamCodeChallenge:       {codeChallengeS256(f.verifier)},
		bindprotocol.ParamCodeChallengeMethod: {bindprotocol.CodeChallengeS256},
	}
	if f.selectService {
		query.Set(bindprotocol.ParamSelect, bindprotocol.SelectService)
	}
	return f.backend + bindprotocol.LoginPath + "?" + query.Encode()
}

// ServeHTTP answers the browser's return to the loopback address.
func (f *loginFlow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != callbackPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !f.answered.CompareAndSwap(false, true) {
		renderPage(w, http.StatusConflict, answeredPage)
		return
	}
	session, err := f.complete(r.URL.Query())
	if err != nil {
		renderPage(w, http.StatusBadRequest, failedPage(err))
	} else {
		renderPage(w, http.StatusOK, signedInPage)
	}
	f.done <- loginResult{session: session, err: err}
}

// complete checks the callback's parameters and exchanges its code for a Session.
func (f *loginFlow) complete(query url.Values) (*bindprotocol.Session, error) {
	if subtle.ConstantTimeCompare([]byte(query.Get(bindprotocol.ParamState)), []byte(f.state)) != 1 {
		return nil, fmt.Errorf("%w: it may belong to another sign-in; start the sign-in again", ErrStateMismatch)
	}
	if code := query.Get(bindprotocol.ParamError); code != "" {
		return nil, &LoginError{Code: code, Description: query.Get(bindprotocol.ParamErrorDescription)}
	}
	code := query.Get(bindprotocol.ParamCode)
	if code == "" {
		return nil, errors.New("the backend sent the browser back with neither a code nor an error; is the URL a bindery-backend's?")
	}
	session, err := f.exchange(code)
	if err != nil {
		return nil, err
	}
	if session.Service == "" {
		session.Service = query.Get(bindprotocol.ParamService)
	}
	if f.selectService && session.Service == "" {
		return nil, errors.New("signed in, but no Service was picked; pick one on the backend's page")
	}
	return session, nil
}

// exchange trades the one-time code and the verifier for a Session at the token endpoint.
func (f *loginFlow) exchange(code string) (*bindprotocol.Session, error) {
	req := bindprotocol.TokenRequest{Code: code, CodeVerifier: f.verifier, RedirectURI: f.redirectURI}
	session := &bindprotocol.Session{}
	if err := roundTrip(f.ctx, f.httpClient, http.MethodPost, f.backend+bindprotocol.TokenPath, "", req, session); err != nil {
		return nil, fmt.Errorf("exchanging the sign-in code at the backend: %w", err)
	}
	if session.Token == "" {
		return nil, errors.New("the backend's token endpoint answered without a session token")
	}
	return session, nil
}
