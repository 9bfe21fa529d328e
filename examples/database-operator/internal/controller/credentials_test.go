package controller

import (
	"errors"
	"testing"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
)

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct {
		engine  dbv1alpha1.Engine
		want    string
		wantErr bool
	}{
		{engine: dbv1alpha1.EnginePostgres, want: "orders.team-a.db.provider.example:5432"},
		{engine: dbv1alpha1.EngineMySQL, want: "orders.team-a.db.provider.example:3306"},
		{engine: "oracle", wantErr: true},
	} {
		t.Run(string(tc.engine), func(t *testing.T) {
			got, err := Endpoint(newDatabase("orders").engine(tc.engine).build())
			if (err != nil) != tc.wantErr {
				t.Fatalf("Endpoint() error = %v, want error: %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Endpoint() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSecretName(t *testing.T) {
	if got := SecretName(newDatabase("orders").build()); got != "orders-credentials" {
		t.Errorf("SecretName() = %q, want orders-credentials", got)
	}
}

// passwords returns a generator of the given passwords, in order, and a counter of its calls.
func passwords(ps ...string) (func() string, *int) {
	calls := 0
	return func() string {
		p := ps[calls%len(ps)]
		calls++
		return p
	}, &calls
}

func TestCredentialsDataNewSecret(t *testing.T) {
	gen, calls := passwords("s3cret")
	got, err := credentialsData(newDatabase("orders").build(), nil, gen)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		KeyUsername: "admin", KeyPassword: "s3cret",
		KeyHost: "orders.team-a.db.provider.example", KeyPort: "5432", KeyEngine: "postgres",
	}
	assertData(t, got, want)
	if *calls != 1 {
		t.Errorf("password generated %d times, want once", *calls)
	}
}

// TestCredentialsDataStable is the promise clients rely on: reconciling again never changes the
// username or password, while connection details follow the Database.
func TestCredentialsDataStable(t *testing.T) {
	db := newDatabase("orders").build()
	gen, calls := passwords("first", "second")
	first, err := credentialsData(db, nil, gen)
	if err != nil {
		t.Fatal(err)
	}
	db.Spec.StorageGB = 50 // a spec update
	first[KeyHost] = []byte("tampered.example")
	second, err := credentialsData(db, first, gen)
	if err != nil {
		t.Fatal(err)
	}
	if *calls != 1 {
		t.Errorf("password generated %d times over two reconciles, want once", *calls)
	}
	assertData(t, second, map[string]string{
		KeyUsername: "admin", KeyPassword: "first",
		KeyHost: "orders.team-a.db.provider.example", KeyPort: "5432", KeyEngine: "postgres",
	})
	if string(first[KeyHost]) != "tampered.example" {
		t.Errorf("credentialsData modified the existing data it was given")
	}
}

func TestCredentialsDataKeepsExistingUser(t *testing.T) {
	existing := map[string][]byte{KeyUsername: []byte("orders_app"), KeyPassword: []byte("kept"), "sslmode": []byte("require")}
	gen, calls := passwords("unused")
	got, err := credentialsData(newDatabase("orders").engine(dbv1alpha1.EngineMySQL).build(), existing, gen)
	if err != nil {
		t.Fatal(err)
	}
	assertData(t, got, map[string]string{
		KeyUsername: "orders_app", KeyPassword: "kept", "sslmode": "require",
		KeyHost: "orders.team-a.db.provider.example", KeyPort: "3306", KeyEngine: "mysql",
	})
	if *calls != 0 {
		t.Errorf("password generated although one exists")
	}
}

func TestCredentialsDataUnsupportedEngine(t *testing.T) {
	gen, _ := passwords("x")
	if _, err := credentialsData(newDatabase("orders").engine("oracle").build(), nil, gen); err == nil {
		t.Fatal("want an error for engine oracle")
	}
}

func TestRandomPassword(t *testing.T) {
	a, b := randomPassword(), randomPassword()
	if len(a) < 20 {
		t.Errorf("password %q is shorter than 20 characters", a)
	}
	if a == b {
		t.Errorf("two passwords are equal: %q", a)
	}
}

func TestCheckOwnership(t *testing.T) {
	db := newDatabase("orders").build()
	earlier := newDatabase("orders").build()
	earlier.UID = "earlier-uid"
	for _, tc := range []struct {
		name         string
		secret       *secretBuilder
		wantConflict bool
	}{
		{name: "ours", secret: newSecret("orders-credentials").managed().controlledBy(db)},
		{name: "ours, label removed: repaired", secret: newSecret("orders-credentials").controlledBy(db)},
		{name: "labelled, no controller: adopted", secret: newSecret("orders-credentials").managed()},
		{name: "not labelled: someone else's", secret: newSecret("orders-credentials"), wantConflict: true},
		{name: "an earlier Database's", secret: newSecret("orders-credentials").managed().controlledBy(earlier), wantConflict: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkOwnership(tc.secret.build(), db)
			var conflict *conflictError
			if got := errors.As(err, &conflict); got != tc.wantConflict {
				t.Errorf("checkOwnership() = %v, want conflict: %v", err, tc.wantConflict)
			}
		})
	}
}

func assertData(t *testing.T, got map[string][]byte, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("Secret data has %d keys, want %d: %v", len(got), len(want), keys(got))
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("data[%s] = %q, want %q", k, got[k], v)
		}
	}
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
