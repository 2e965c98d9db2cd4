package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUIDefaultsAndKeys(t *testing.T) {
	d := Default()
	if !d.HTTP.UI.Enabled || d.HTTP.UI.ShowLeadData || d.HTTP.UI.Refresh != 5*time.Second {
		t.Errorf("Default().HTTP.UI = %+v, want enabled, lead data hidden, refresh 5s", d.HTTP.UI)
	}
	c := mustLoadYAML(t, "http: {addr: '127.0.0.1:9'}\n", nil)
	if !c.HTTP.UI.Enabled || c.HTTP.UI.ShowLeadData {
		t.Errorf("http without ui: UI = %+v, want the defaults", c.HTTP.UI)
	}
	c = mustLoadYAML(t, "http:\n  ui: {enabled: false}\n", nil)
	if c.HTTP.UI.Enabled || c.HTTP.UI.Refresh != 5*time.Second {
		t.Errorf("ui.enabled false: UI = %+v", c.HTTP.UI)
	}
	c = mustLoadYAML(t, "http:\n  ui: {showLeadData: true, refresh: 2s}\n", nil)
	if !c.HTTP.UI.Enabled || !c.HTTP.UI.ShowLeadData || c.HTTP.UI.Refresh != 2*time.Second {
		t.Errorf("ui.showLeadData true: UI = %+v", c.HTTP.UI)
	}
	ex, err := Load("testdata/example.yaml", env(map[string]string{"MARKETO_123_ABC_456_SECRET": "s"}))
	if err != nil {
		t.Fatal(err)
	}
	if ex.HTTP.UI != d.HTTP.UI {
		t.Errorf("example.yaml ui = %+v, want the defaults it documents %+v", ex.HTTP.UI, d.HTTP.UI)
	}
}

func TestUIValidate(t *testing.T) {
	tests := []struct {
		name, yaml, field, reason string
	}{
		{"refresh too short", "http:\n  ui: {refresh: 100ms}\n", "http.ui.refresh", "1s..1m"},
		{"refresh too long", "http:\n  ui: {refresh: 5m}\n", "http.ui.refresh", "1s..1m"},
		{"lead data on a disabled console", "http:\n  ui: {enabled: false, showLeadData: true}\n", "http.ui.showLeadData", "enabled"},
		{"unknown key", "http:\n  ui: {showleaddata: true}\n", "", "showleaddata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(mustWrite(t, "repost.yaml", tt.yaml), nil)
			if err == nil {
				t.Fatal("Load: no error")
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
			if tt.field == "" {
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || ve.Line != 2 {
				t.Errorf("error %v: want a *ValidationError on %s at line 2", err, tt.field)
			}
		})
	}
}
