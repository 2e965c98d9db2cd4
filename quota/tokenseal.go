package quota

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrNoSecret: a RedisTokenStore was asked about a subscription whose
// client secret it was not given, so it can neither seal nor open the token.
var ErrNoSecret = errors.New("quota: no client secret for the subscription's token")

// sealPrefix marks a sealed token entry (and its format version).
const sealPrefix = "v1:"

// hkdfSalt separates repost's token keys from any other use of the secret.
var hkdfSalt = []byte("repost/quota/token-seal")

// sealer encrypts the shared access token of one subscription with AES-GCM
// under a key derived (HKDF-SHA256) from its client secret. Every replica has
// the secret in its configuration; Redis never sees it, so a dump of Redis
// (or a look at the key) yields no usable bearer token. The key name is the
// additional data: a sealed value copied under another key does not open.
type sealer struct {
	aead cipher.AEAD
	ad   []byte
}

func newSealer(sub, secret string) (*sealer, error) {
	k, err := hkdf.Key(sha256.New, []byte(secret), hkdfSalt, "repost access token "+sub, 32)
	if err != nil {
		return nil, fmt.Errorf("quota: token key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("quota: token key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("quota: token key: %w", err)
	}
	return &sealer{aead: aead, ad: []byte(tokenKey(sub))}, nil
}

// seal returns the Redis value of token usable until expires.
func (s *sealer) seal(token string, expires time.Time) string {
	plain := strconv.FormatInt(expires.UnixMicro(), 10) + " " + token
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go ≥ 1.24)
	return sealPrefix + base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), s.ad))
}

// open reverses seal; ok is false for anything that does not open (another
// secret, a rotated one, a tampered or legacy plain value): that is no token.
func (s *sealer) open(v string) (token string, expires time.Time, ok bool) {
	b64, found := strings.CutPrefix(v, sealPrefix)
	if !found {
		return "", time.Time{}, false
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", time.Time{}, false
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], s.ad)
	if err != nil {
		return "", time.Time{}, false
	}
	exp, tok, found := strings.Cut(string(plain), " ")
	us, perr := strconv.ParseInt(exp, 10, 64)
	if !found || perr != nil || tok == "" {
		return "", time.Time{}, false
	}
	return tok, fromMicros(us), true
}
