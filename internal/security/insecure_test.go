package security

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/config"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
)

// writeSubscription writes a configuration of one subscription whose client
// secret comes from the environment.
func writeSubscription(t *testing.T, endpoint string, allowInsecure bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "repost.yaml")
	body := fmt.Sprintf("dataDir: %q\nsubscriptions:\n  - id: %s\n    endpoint: %q\n    clientID: %s\n"+
		"    clientSecret: \"${MARKETO_123_ABC_456_SECRET}\"\n    allowInsecure: %t\n",
		t.TempDir(), fixture.Sub, endpoint, marketotest.DefaultClientID, allowInsecure)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A plain-http Marketo endpoint would carry the client secret and the token
// in clear: the configuration and the client both refuse it unless
// allowInsecure says it is a simulator; the refusal names the field and
// quotes neither the secret nor the URL's credentials.
func TestPlainHTTPRefusedUnlessAllowInsecure(t *testing.T) {
	mkto := secret(t, "mkto-SECRET-")
	urlPW := secret(t, "url-PW-")
	tests := []struct {
		name          string
		endpoint      string
		allowInsecure bool
		wantErr       bool
	}{
		{name: "http refused", endpoint: "http://123-ABC-456.mktorest.com", wantErr: true},
		{name: "http on loopback refused", endpoint: "http://127.0.0.1:9", wantErr: true},
		{name: "HTTP upper case refused", endpoint: "HTTP://123-ABC-456.mktorest.com", wantErr: true},
		{name: "http allowed with allowInsecure", endpoint: "http://127.0.0.1:9", allowInsecure: true},
		{name: "https accepted", endpoint: "https://123-ABC-456.mktorest.com"},
		{name: "credentials in the URL refused", endpoint: "http://u:" + urlPW + "@127.0.0.1:9", allowInsecure: true, wantErr: true},
		{name: "other scheme refused", endpoint: "ftp://123-ABC-456.mktorest.com", allowInsecure: true, wantErr: true},
	}
	env := func(k string) string {
		if k == "MARKETO_123_ABC_456_SECRET" {
			return mkto
		}
		return ""
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(writeSubscription(t, tt.endpoint, tt.allowInsecure), env)
			checkRefusal(t, "config.Load", err, tt.wantErr, func(err error) bool {
				var ve *config.ValidationError
				return errors.As(err, &ve) && ve.Field == "subscriptions[0].endpoint" &&
					strings.Contains(err.Error(), "subscriptions[0].endpoint")
			}, mkto, urlPW)
			_, err = marketo.New(marketo.Config{Subscription: fixture.Sub, Endpoint: tt.endpoint,
				ClientID: marketotest.DefaultClientID, ClientSecret: mkto, AllowInsecure: tt.allowInsecure})
			checkRefusal(t, "marketo.New", err, tt.wantErr, func(err error) bool {
				var ce *marketo.ConfigError
				return errors.As(err, &ce) && ce.Field == "Endpoint"
			}, mkto, urlPW)
		})
	}
}

func checkRefusal(t *testing.T, what string, err error, wantErr bool, named func(error) bool, secrets ...string) {
	t.Helper()
	switch {
	case !wantErr && err != nil:
		t.Errorf("%s: %v, want accepted", what, err)
	case wantErr && err == nil:
		t.Errorf("%s accepted it, want a refusal", what)
	case wantErr && !named(err):
		t.Errorf("%s: %v, want the endpoint field named", what, err)
	}
	for _, s := range secrets {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("%s: the refusal quotes a secret: %v", what, err)
		}
	}
}

// repostd itself, given a plain-http endpoint without allowInsecure, exits 1
// naming the field before any call: the simulator never sees the secret.
func TestRepostdRefusesPlainHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs repostd")
	}
	bin := mustRepostd(t)
	mkto := secret(t, "mkto-SECRET-")
	sim, _, simURL := mustRecordedSim(t, marketotest.Options{ClientSecret: mkto})
	d := startRepostd(t, bin, writeSubscription(t, simURL, false), "MARKETO_123_ABC_456_SECRET="+mkto)
	code := d.wait(t, 20*time.Second)
	out := d.stderr.String() + d.stdout.String()
	if code != 1 || !strings.Contains(out, "subscriptions[0].endpoint") || !strings.Contains(out, "allowInsecure") {
		t.Errorf("exit %d, want 1 naming subscriptions[0].endpoint and allowInsecure; output:\n%s", code, out)
	}
	if strings.Contains(out, mkto) {
		t.Errorf("output holds the client secret:\n%s", out)
	}
	if st := sim.Stats(); st.IdentityCalls != 0 || st.Calls != 0 {
		t.Errorf("the simulator was called (%d identity, %d REST): the secret went over plain http", st.IdentityCalls, st.Calls)
	}
}
