package secrets

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"archy.dev/archy/schema"
)

// TestRPCAuthLine checks the derivation against a vector computed with
// python3 the way share/rpcauth/rpcauth.py does:
// hmac.new(bytearray(salt, 'utf-8'), bytearray(password, 'utf-8'), 'SHA256').hexdigest().
func TestRPCAuthLine(t *testing.T) {
	got := RPCAuthLine("archy", "00112233445566778899aabbccddeeff", "dGVzdC1wYXNzd29yZC1mb3ItYXJjaHktcnBjYXV0aA==")
	want := "archy:00112233445566778899aabbccddeeff$5ce2c929454ee8fe847b915a61cd074662d05baac23c60eaa743dc5a0f398ff9"
	if got != want {
		t.Errorf("RPCAuthLine = %s, want %s", got, want)
	}
}

func TestGenerateRandom(t *testing.T) {
	for alphabet, re := range map[string]string{
		schema.AlphabetHex:       `^[0-9a-f]{40}$`,
		schema.AlphabetBase64URL: `^[A-Za-z0-9_-]{40}$`,
		schema.AlphabetAlnum:     `^[A-Za-z0-9]{40}$`,
	} {
		g := &schema.SecretGen{Name: "s", Type: schema.GenRandom, Length: 40, Alphabet: alphabet}
		a, err := generate(g, "")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := generate(g, "")
		if !regexp.MustCompile(re).Match(a["s"]) || len(a) != 1 {
			t.Errorf("%s: got %d values, s does not match %s", alphabet, len(a), re)
		}
		if string(a["s"]) == string(b["s"]) {
			t.Errorf("%s: two generations gave the same value", alphabet)
		}
	}
}

// TestGenerateRPCAuth checks the pair: a url-safe base64 password of 32
// random bytes and a line that verifies against it as bitcoind does.
func TestGenerateRPCAuth(t *testing.T) {
	g := &schema.SecretGen{Name: "rpc", Type: schema.GenRPCAuth, User: "lnd"}
	v, err := generate(g, "")
	if err != nil {
		t.Fatal(err)
	}
	pw := string(v["rpc"])
	if raw, err := base64.URLEncoding.DecodeString(pw); err != nil || len(raw) != 32 {
		t.Errorf("password is not url-safe base64 of 32 bytes: %d bytes, %v", len(raw), err)
	}
	user, rest, _ := strings.Cut(string(v["rpc-rpcauth"]), ":")
	salt, sum, _ := strings.Cut(rest, "$")
	mac := hmac.New(sha256.New, []byte(salt))
	mac.Write([]byte(pw))
	if user != "lnd" || len(salt) != 32 || sum != hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("rpcauth line does not verify: user %q, salt of %d characters", user, len(salt))
	}
}

// fakeRuntime holds Podman secrets in memory.
type fakeRuntime struct{ secrets map[string][]byte }

func (f *fakeRuntime) SetSecret(_ context.Context, name string, v []byte) error {
	f.secrets[name] = v
	return nil
}

func (f *fakeRuntime) SecretNames(context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	for n := range f.secrets {
		out[n] = true
	}
	return out, nil
}

func TestStoreGenerate(t *testing.T) {
	gens := map[string]*schema.SecretGen{
		"tok":  {Name: "tok", Type: schema.GenRandom, Length: 32, Alphabet: schema.AlphabetHex},
		"rpc":  {Name: "rpc", Type: schema.GenRPCAuth, User: "u"},
		"file": {Name: "file", Type: schema.GenRandom, Length: 32, Alphabet: schema.AlphabetHex},
		"fpw":  {Name: "fpw", Type: schema.GenRPCAuth, User: "u"},
	}
	s := &Store{values: map[string][]byte{"file": []byte("from-file"), "fpw": []byte("pw-from-file")}}
	rt := &fakeRuntime{secrets: map[string][]byte{}}
	created, err := s.Generate(context.Background(), rt, gens)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(created, " "); got != "fpw-rpcauth rpc rpc-rpcauth tok" {
		t.Errorf("created %s", got)
	}
	if _, ok := rt.secrets["file"]; ok {
		t.Error("a name the secrets file sets was generated")
	}
	if line := string(rt.secrets["fpw-rpcauth"]); !strings.HasPrefix(line, "u:") || line != RPCAuthLine("u", line[2:34], "pw-from-file") {
		t.Error("the rpcauth line is not derived from the file's password")
	}

	before := map[string]string{}
	for n, v := range rt.secrets {
		before[n] = string(v)
	}
	created, err = s.Generate(context.Background(), rt, gens)
	if err != nil || len(created) != 0 {
		t.Fatalf("second run created %v, %v", created, err)
	}
	for n, v := range rt.secrets {
		if before[n] != string(v) {
			t.Errorf("%s regenerated", n)
		}
	}

	// Half a pair whose password is only in Podman cannot be completed.
	delete(rt.secrets, "rpc-rpcauth")
	if _, err := s.Generate(context.Background(), rt, gens); err == nil || !strings.Contains(err.Error(), "remove rpc with podman secret rm") {
		t.Errorf("half a pair: %v", err)
	}
}

func TestGenerateTLS(t *testing.T) {
	g := &schema.SecretGen{Name: "lnd-tls", Type: schema.GenTLS, CommonName: "lnd", Hosts: []string{"lnd.local", "10.0.0.5"}, Days: 30}
	if got := g.SecretNames(); !slices.Equal(got, []string{"lnd-tls", "lnd-tls-cert"}) {
		t.Fatalf("secret names %v", got)
	}
	vals, err := generate(g, "")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(vals["lnd-tls-cert"], vals["lnd-tls"])
	if err != nil {
		t.Fatalf("key and certificate do not match: %v", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "lnd" || !slices.Equal(cert.DNSNames, []string{"lnd", "lnd.local"}) ||
		len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != "10.0.0.5" {
		t.Errorf("certificate for %s, DNS %v, IPs %v", cert.Subject.CommonName, cert.DNSNames, cert.IPAddresses)
	}
	if d := time.Until(cert.NotAfter); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Errorf("certificate valid for %s, want 30 days", d)
	}
	// Self-signed: it verifies against itself as root.
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "lnd.local"}); err != nil {
		t.Errorf("verify: %v", err)
	}
	again, _ := generate(g, "")
	if string(again["lnd-tls"]) == string(vals["lnd-tls"]) {
		t.Error("two generations gave the same key")
	}
}
