package secrets

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"slices"
	"sort"
	"time"

	"archy.dev/archy/schema"
)

// alphabets are the characters of the random generator's alphabets.
var alphabets = map[string]string{
	schema.AlphabetHex:       "0123456789abcdef",
	schema.AlphabetBase64URL: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
	schema.AlphabetAlnum:     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
}

// randomString is n characters drawn uniformly from alphabet with
// crypto/rand (rand.Int rejects the bias of a plain modulo).
func randomString(n int, alphabet string) (string, error) {
	if n <= 0 || alphabet == "" {
		return "", fmt.Errorf("random secret: length %d, alphabet of %d characters", n, len(alphabet))
	}
	b := make([]byte, n)
	buf := make([]byte, 1)
	// Rejection sampling on single bytes: every alphabet here has at most
	// 64 characters, so keep a byte only below the largest multiple of
	// the alphabet's size.
	limit := 256 - 256%len(alphabet)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		if int(buf[0]) < limit {
			b[i] = alphabet[int(buf[0])%len(alphabet)]
			i++
		}
	}
	return string(b), nil
}

// rpcauthPassword is a password as bitcoind's share/rpcauth/rpcauth.py
// makes one: base64.urlsafe_b64encode(os.urandom(32)).
func rpcauthPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// RPCAuthLine is bitcoind's -rpcauth value for user and password with
// salt (hex), as rpcauth.py derives it: USER:SALT$HMAC, HMAC the hex
// HMAC-SHA256 keyed by the salt's text over the password.
func RPCAuthLine(user, salt, password string) string {
	mac := hmac.New(sha256.New, []byte(salt))
	mac.Write([]byte(password))
	return user + ":" + salt + "$" + hex.EncodeToString(mac.Sum(nil))
}

// generate makes the values of a generator, keyed by secret name
// (g.SecretNames). password, when not empty, is the rpcauth password to
// derive the line from instead of a new one (the secrets file sets it).
func generate(g *schema.SecretGen, password string) (map[string][]byte, error) {
	switch g.Type {
	case schema.GenRandom:
		v, err := randomString(g.Length, alphabets[g.Alphabet])
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w", g.Name, err)
		}
		return map[string][]byte{g.Name: []byte(v)}, nil
	case schema.GenRPCAuth:
		if password == "" {
			var err error
			if password, err = rpcauthPassword(); err != nil {
				return nil, err
			}
		}
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
		line := RPCAuthLine(g.User, hex.EncodeToString(salt), password)
		return map[string][]byte{g.Name: []byte(password), g.Name + schema.RPCAuthSuffix: []byte(line)}, nil
	case schema.GenTLS:
		key, cert, err := selfSigned(g.CommonName, g.Hosts, g.Days)
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w", g.Name, err)
		}
		return map[string][]byte{g.Name: key, g.Name + schema.CertSuffix: cert}, nil
	}
	return nil, fmt.Errorf("secret %q: unknown generator %q", g.Name, g.Type)
}

// selfSigned is a new ECDSA P-256 key (PEM, PKCS #8) and a self-signed
// certificate (PEM) for cn and hosts (DNS names or IP addresses), valid
// from now for days, usable by a TLS server and client.
func selfSigned(cn string, hosts []string, days int) (keyPEM, certPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(0, 0, days),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // self-signed: clients pin it as its own root
	}
	for _, h := range append([]string{cn}, hosts...) {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// Runtime is what Generate needs of the container runtime (engine.Runtime
// has it).
type Runtime interface {
	Setter
	// SecretNames lists the Podman secrets that exist.
	SecretNames(ctx context.Context) (map[string]bool, error)
}

// Generate creates in Podman the generated secrets that do not exist
// there yet, and returns the names it created. A secret that exists is
// never made again (Podman holds the only copy), and a name the secrets
// file sets is the file's (Sync stores it). An rpcauth generator whose
// password the file sets gets its line derived from that password.
func (s *Store) Generate(ctx context.Context, rt Runtime, gens map[string]*schema.SecretGen) ([]string, error) {
	if len(gens) == 0 {
		return nil, nil
	}
	existing, err := rt.SecretNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing secrets: %w", err)
	}
	names := make([]string, 0, len(gens))
	for n := range gens {
		names = append(names, n)
	}
	sort.Strings(names)
	var created []string
	for _, n := range names {
		g := gens[n]
		var missing, present []string
		for _, sn := range g.SecretNames() {
			if _, inFile := s.values[sn]; inFile || existing[sn] {
				present = append(present, sn)
			} else {
				missing = append(missing, sn)
			}
		}
		if len(missing) == 0 {
			continue
		}
		password := ""
		if len(present) > 0 {
			// Only an rpcauth pair can be half there. The line can be
			// derived from a password in the file; a password that is
			// only in Podman cannot be read back.
			pw, inFile := s.values[g.Name]
			if !inFile || len(missing) != 1 || missing[0] != g.Name+schema.RPCAuthSuffix {
				return created, fmt.Errorf("%s: generated secret %q: %s exists but %s does not, and the missing one cannot be derived: remove %s with podman secret rm to generate the pair again",
					g.Pos, g.Name, present[0], missing[0], present[0])
			}
			password = string(pw)
		}
		vals, err := generate(g, password)
		if err != nil {
			return created, fmt.Errorf("%s: %w", g.Pos, err)
		}
		for _, sn := range missing {
			if err := rt.SetSecret(ctx, sn, vals[sn]); err != nil {
				return created, fmt.Errorf("storing generated secret %q: %w", sn, err)
			}
			created = append(created, sn)
		}
	}
	return created, nil
}

// Rotate makes new values for every secret of generator g and replaces
// them in Podman: an rpcauth pair gets a new password and the line derived
// from it. A name the secrets file sets is the file's to change, so such a
// generator is refused. Its consumers keep the old values until they are
// recreated (their hash sees the new ids).
func (s *Store) Rotate(ctx context.Context, rt Setter, g *schema.SecretGen) error {
	for _, sn := range g.SecretNames() {
		if _, inFile := s.values[sn]; inFile {
			return fmt.Errorf("secret %s is set by the secrets file, which wins: change it there", sn)
		}
	}
	vals, err := generate(g, "")
	if err != nil {
		return fmt.Errorf("%s: %w", g.Pos, err)
	}
	// The line before the password: should archy die in between, the
	// consumers of the old password fail loudly rather than bitcoind
	// accepting two.
	names := g.SecretNames()
	for i := len(names) - 1; i >= 0; i-- {
		if err := rt.SetSecret(ctx, names[i], vals[names[i]]); err != nil {
			return fmt.Errorf("storing rotated secret %q: %w", names[i], err)
		}
	}
	return nil
}
