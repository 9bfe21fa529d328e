package kubectlbindery

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// bindingsNamed is a lookup over a fixed set of bindings.
func bindingsNamed(bindings ...*bindv1alpha1.ServiceBinding) lookupBinding {
	return func(name string) (*bindv1alpha1.ServiceBinding, error) {
		for _, b := range bindings {
			if b.Name == name {
				return b, nil
			}
		}
		return nil, nil
	}
}

func existing(name, backend, service, group string) *bindv1alpha1.ServiceBinding {
	return &bindv1alpha1.ServiceBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       bindv1alpha1.ServiceBindingSpec{Backend: backend, Service: service, Group: group},
	}
}

func TestBindingName(t *testing.T) {
	const a, b = "https://a.example.com", "https://b.example.com"
	dbs := bindTarget{backend: a, service: "databases"}
	otherBackend := "databases-" + templating.ShortHash(a)
	for _, tc := range []struct {
		name      string
		requested string
		want      bindTarget
		bindings  []*bindv1alpha1.ServiceBinding
		wantName  string
		wantErr   string
	}{
		{name: "the service's name when free", want: dbs, wantName: "databases"},
		{name: "the same binding again", want: dbs, bindings: []*bindv1alpha1.ServiceBinding{existing("databases", a, "databases", "")}, wantName: "databases"},
		{name: "a hash of the backend when another backend has the name", want: dbs,
			bindings: []*bindv1alpha1.ServiceBinding{existing("databases", b, "databases", "")}, wantName: otherBackend},
		{name: "the hashed name again", want: dbs, bindings: []*bindv1alpha1.ServiceBinding{
			existing("databases", b, "databases", ""), existing(otherBackend, a, "databases", "")}, wantName: otherBackend},
		{name: "both names taken", want: dbs, bindings: []*bindv1alpha1.ServiceBinding{
			existing("databases", b, "databases", ""), existing(otherBackend, "https://c.example.com", "databases", "")},
			wantErr: "exist already for other backends: choose a name with --name"},
		{name: "--name as asked", requested: "team-dbs", want: dbs, wantName: "team-dbs"},
		{name: "--name taken by another service", requested: "team-dbs", want: dbs,
			bindings: []*bindv1alpha1.ServiceBinding{existing("team-dbs", a, "caches", "")},
			wantErr:  "ServiceBinding team-dbs binds service caches of https://a.example.com already: choose another --name, or remove it first with kubectl bindery unbind team-dbs"},
		{name: "another group under the same name", want: bindTarget{backend: a, service: "databases", group: "db.team.example"},
			bindings: []*bindv1alpha1.ServiceBinding{existing("databases", a, "databases", "")},
			wantErr:  "receives service databases under the provider's groups, and a binding's group cannot change"},
		{name: "an invalid --name", requested: "Team_DBs", want: dbs, wantErr: `--name: "Team_DBs" is not a valid name`},
		{name: "a --name too long for its Secret", requested: strings.Repeat("a", 250), want: dbs, wantErr: "leaves no room for its Secret's name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bindingName(tc.requested, tc.want, bindingsNamed(tc.bindings...))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want an error saying %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.wantName {
				t.Fatalf("got %q, %v; want %q", got, err, tc.wantName)
			}
		})
	}
}

func TestValidGroup(t *testing.T) {
	for _, ok := range []string{"", "databases.team-a.example", "a.b"} {
		if err := validGroup(ok); err != nil {
			t.Errorf("validGroup(%q) = %v", ok, err)
		}
	}
	for group, want := range map[string]string{
		"databases":         "it needs at least one dot",
		"Databases.Example": "a lowercase RFC 1123 subdomain",
		"db..example":       "a lowercase RFC 1123 subdomain",
		"apps.k8s.io":       "belongs to Kubernetes itself",
	} {
		err := validGroup(group)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "--group: ") {
			t.Errorf("validGroup(%q) = %v, want an error about --group saying %q", group, err, want)
		}
	}
}
