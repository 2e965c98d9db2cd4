package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Environment variables that override the file (CONTRACT §8). An empty
// variable counts as unset.
const (
	EnvNATSURL  = "REPOST_NATS_URL"
	EnvRedisURL = "REPOST_REDIS_URL"
	EnvHTTPAddr = "REPOST_HTTP_ADDR"
	EnvDataDir  = "REPOST_DATA_DIR"
)

// Load builds the configuration, in this order:
//  1. Default();
//  2. the YAML file at path, unless path is "": unknown keys are errors
//     naming the key and its line, and every ${VAR} in a value is replaced
//     by getenv(VAR) ($$ is a literal $; an unset or empty VAR is an error
//     naming it); each limit a subscription leaves out keeps its default;
//  3. REPOST_NATS_URL, REPOST_REDIS_URL, REPOST_HTTP_ADDR, REPOST_DATA_DIR;
//  4. each subscription's clientSecretFile, read into clientSecret;
//  5. Validate.
//
// getenv is os.Getenv in production and a map in tests; nil means an
// empty environment. Errors name the
// field (errors.As a *ValidationError) and never hold a secret.
func Load(path string, getenv func(string) string) (*Config, error) {
	return load(path, getenv, false)
}

// SecretNotRead stands for a Marketo client secret LoadWithoutSecrets did
// not resolve.
const SecretNotRead = Secret("(not read)")

// LoadWithoutSecrets is Load for tools that never call Marketo (repostctl's
// read-only commands): each subscription's clientSecret is neither expanded
// from the environment nor read from its clientSecretFile, and holds
// SecretNotRead when one is configured; a subscription that configures
// neither is no error here and keeps an empty ClientSecret. Inspecting thus
// needs no Marketo credentials; whatever calls Marketo uses Load, which
// refuses a subscription without a secret and names the field.
func LoadWithoutSecrets(path string, getenv func(string) string) (*Config, error) {
	return load(path, getenv, true)
}

func load(path string, getenv func(string) string, skipSecrets bool) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := Default()
	lines := map[string]int{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if lines, err = decode(data, getenv, &c, skipSecrets); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	for _, field := range c.applyEnv(getenv) {
		delete(lines, field) // its value is no longer the file's
	}
	if skipSecrets {
		for i := range c.Subscriptions {
			if s := &c.Subscriptions[i]; s.ClientSecret != "" || s.ClientSecretFile != "" {
				s.ClientSecret, s.ClientSecretFile = SecretNotRead, ""
			}
		}
	} else if err := c.readSecretFiles(); err != nil {
		return nil, fmt.Errorf("config: %w", placeErrors(err, lines))
	}
	c.normalize()
	if err := c.validate(!skipSecrets); err != nil {
		return nil, fmt.Errorf("config: %w", placeErrors(err, lines))
	}
	return &c, nil
}

// placeErrors sets the file line of each ValidationError whose field the
// file wrote.
func placeErrors(err error, lines map[string]int) error {
	var walk func(error)
	walk = func(e error) {
		if ve, ok := e.(*ValidationError); ok && ve.Line == 0 {
			ve.Line = lines[ve.Field]
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return err
}

// decode parses one YAML document onto c: strict keys and ${VAR} expansion
// first (see walker), then yaml.v3's typed decoding.
// It returns the line of every key, by YAML path.
func decode(data []byte, getenv func(string) string, c *Config, skipSecrets bool) (map[string]int, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]int{}, nil // an empty file: defaults
		}
		return nil, err
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	w := &walker{getenv: getenv, seen: map[*yaml.Node]bool{}, lines: map[string]int{}, skipSecrets: skipSecrets}
	w.walk(&doc, reflect.TypeOf(c).Elem(), "")
	if len(w.errs) > 0 {
		return nil, errors.Join(w.errs...)
	}
	return w.lines, doc.Decode(c)
}

// applyEnv applies the environment overrides of CONTRACT §8 and returns the
// YAML paths it set.
func (c *Config) applyEnv(getenv func(string) string) []string {
	var set []string
	apply := func(name, field string, dst func(string)) {
		if v := getenv(name); v != "" {
			dst(v)
			set = append(set, field)
		}
	}
	apply(EnvNATSURL, "nats.url", func(v string) { c.NATS.URL = URL(v) })
	apply(EnvRedisURL, "redis.url", func(v string) { c.Redis.URL = URL(v) })
	apply(EnvHTTPAddr, "http.addr", func(v string) { c.HTTP.Addr = v })
	apply(EnvDataDir, "dataDir", func(v string) { c.DataDir = v })
	return set
}

// readSecretFiles reads every clientSecretFile. Errors name the field and
// the path, never the content.
func (c *Config) readSecretFiles() error {
	var p problems
	for i := range c.Subscriptions {
		s := &c.Subscriptions[i]
		if s.ClientSecretFile == "" {
			continue
		}
		field := fmt.Sprintf("subscriptions[%d].clientSecretFile", i)
		if s.ClientSecret != "" {
			p.add(field, "set either clientSecret or clientSecretFile, not both")
			continue
		}
		b, err := os.ReadFile(s.ClientSecretFile)
		if err != nil {
			p = append(p, &ValidationError{Field: field, Err: err,
				Reason: fmt.Sprintf("cannot read %s: %v", s.ClientSecretFile, describe(err))})
			continue
		}
		secret := strings.TrimRight(string(b), "\r\n")
		if secret == "" {
			p.add(field, "%s is empty", s.ClientSecretFile)
			continue
		}
		s.ClientSecret = Secret(secret)
	}
	return errors.Join(p...)
}

// describe keeps the cause of a file error without repeating its path.
func describe(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// normalize canonicalizes values without changing their meaning: an
// endpoint's trailing slash, so that <endpoint>/identity has one slash.
func (c *Config) normalize() {
	for i := range c.Subscriptions {
		s := &c.Subscriptions[i]
		s.Endpoint = strings.TrimRight(s.Endpoint, "/")
	}
}
