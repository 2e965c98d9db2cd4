package marketo

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	ok := testConfig("https://123-ABC-456.mktorest.com")
	tests := []struct {
		name      string
		edit      func(*Config)
		wantField string
		wantBase  string
	}{
		{name: "https ok", edit: func(*Config) {}, wantBase: "https://123-ABC-456.mktorest.com"},
		{name: "trailing /rest removed", edit: func(c *Config) { c.Endpoint = "https://x.mktorest.com/rest/" }, wantBase: "https://x.mktorest.com"},
		{name: "http refused", edit: func(c *Config) { c.Endpoint = "http://x.mktorest.com"; c.AllowInsecure = false }, wantField: "Endpoint"},
		{name: "http allowed", edit: func(c *Config) { c.Endpoint = "http://127.0.0.1:9"; c.AllowInsecure = true }, wantBase: "http://127.0.0.1:9"},
		{name: "ftp refused", edit: func(c *Config) { c.Endpoint = "ftp://x" }, wantField: "Endpoint"},
		{name: "no endpoint", edit: func(c *Config) { c.Endpoint = "" }, wantField: "Endpoint"},
		{name: "userinfo refused", edit: func(c *Config) { c.Endpoint = "https://u:p@x.mktorest.com" }, wantField: "Endpoint"},
		{name: "query refused", edit: func(c *Config) { c.Endpoint = "https://x.mktorest.com?a=b" }, wantField: "Endpoint"},
		{name: "no subscription", edit: func(c *Config) { c.Subscription = " " }, wantField: "Subscription"},
		{name: "no client id", edit: func(c *Config) { c.ClientID = "" }, wantField: "ClientID"},
		{name: "no secret", edit: func(c *Config) { c.ClientSecret = "" }, wantField: "ClientSecret"},
		{name: "negative conns", edit: func(c *Config) { c.MaxConns = -1 }, wantField: "MaxConns"},
		{name: "negative timeout", edit: func(c *Config) { c.Timeout = -time.Second }, wantField: "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			c, err := New(cfg)
			if tt.wantField != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || ce.Field != tt.wantField {
					t.Fatalf("err = %v, want ConfigError on %s", err, tt.wantField)
				}
				if strings.Contains(err.Error(), testSecret) {
					t.Fatalf("secret in %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.base != tt.wantBase {
				t.Fatalf("base = %q, want %q", c.base, tt.wantBase)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c := mustClient(t, testConfig("https://x.mktorest.com"))
	if c.cfg.MaxConns != DefaultMaxConns || c.cfg.Timeout != DefaultTimeout || c.cfg.ReadLimit != DefaultReadLimit {
		t.Fatalf("defaults not applied: %+v", c.cfg)
	}
	if c.tokens == nil || c.hc == nil || c.now == nil {
		t.Fatal("nil dependency after New")
	}
	if c.hc.CheckRedirect == nil {
		t.Fatal("default client follows redirects")
	}
}

func TestHTTPClientTuned(t *testing.T) {
	tr, ok := NewHTTPClient(25).Transport.(*http.Transport)
	if !ok {
		t.Fatal("not an *http.Transport")
	}
	if tr.MaxIdleConnsPerHost < 25 || tr.MaxConnsPerHost < 25 || tr.MaxIdleConns < tr.MaxIdleConnsPerHost {
		t.Fatalf("idle %d per host, %d max per host, %d idle", tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost, tr.MaxIdleConns)
	}
	if !tr.ForceAttemptHTTP2 || tr.TLSHandshakeTimeout == 0 || tr.IdleConnTimeout == 0 || tr.TLSClientConfig.MinVersion < tls.VersionTLS12 {
		t.Fatalf("transport not tuned: %+v", tr)
	}
}
