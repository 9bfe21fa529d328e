package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// KeySize is the size of a key in bytes (AES-256).
const KeySize = 32

// ErrExpired is returned by Open for a value whose lifetime has passed.
var ErrExpired = errors.New("expired")

// ErrInvalid is returned by Open for a value that was not sealed with this key for this purpose.
var ErrInvalid = errors.New("invalid or tampered with")

// Sealer seals and opens values with one key.
type Sealer struct {
	aead cipher.AEAD
	now  func() time.Time
}

// New returns a Sealer for a KeySize-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, now: time.Now}, nil
}

// NewKey returns a random key.
func NewKey() []byte {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return key
}

// envelope is what is encrypted: the value and when it stops being valid.
type envelope struct {
	Expires int64           `json:"exp"`
	Value   json.RawMessage `json:"v"`
}

// Seal returns v, valid until now+ttl, as an opaque URL-safe string bound to purpose.
func (s *Sealer) Seal(purpose string, v any, ttl time.Duration) (string, error) {
	value, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sealing %s: %w", purpose, err)
	}
	plain, err := json.Marshal(envelope{Expires: s.now().Add(ttl).Unix(), Value: value})
	if err != nil {
		return "", fmt.Errorf("sealing %s: %w", purpose, err)
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	// The purpose is authenticated data: it is not stored, but opening needs the same one.
	sealed := s.aead.Seal(nonce, nonce, plain, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decodes a value sealed for purpose into v and returns when it expires.
func (s *Sealer) Open(purpose, sealed string, v any) (time.Time, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return time.Time{}, ErrInvalid
	}
	nonce, ciphertext := raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():]
	plain, err := s.aead.Open(nil, nonce, ciphertext, []byte(purpose))
	if err != nil {
		return time.Time{}, ErrInvalid
	}
	var env envelope
	if err := json.Unmarshal(plain, &env); err != nil {
		return time.Time{}, ErrInvalid
	}
	expires := time.Unix(env.Expires, 0)
	if !s.now().Before(expires) {
		return expires, ErrExpired
	}
	if err := json.Unmarshal(env.Value, v); err != nil {
		return expires, fmt.Errorf("opening %s: %w", purpose, err)
	}
	return expires, nil
}
