// goserver: a TLS 1.3 peer from Go 1.24's crypto/tls, for interop tests of
// guise's BoringSSL. Server mode answers each connection with one JSON line
// describing the ClientHello Go saw and closes; client mode connects, shakes
// hands and prints what was negotiated.
//
//	goserver -listen 127.0.0.1:0 -groups X25519MLKEM768   prints "listening PORT"
//	goserver -connect 127.0.0.1:PORT -groups X25519MLKEM768
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"time"
)

var groupNames = map[string]tls.CurveID{
	"X25519MLKEM768": tls.X25519MLKEM768,
	"X25519":         tls.X25519,
	"P-256":          tls.CurveP256,
	"P-384":          tls.CurveP384,
}

func parseGroups(s string) []tls.CurveID {
	var out []tls.CurveID
	for _, name := range strings.Split(s, ":") {
		id, ok := groupNames[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown group %q\n", name)
			os.Exit(2)
		}
		out = append(out, id)
	}
	return out
}

func selfSigned() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

type helloReport struct {
	Groups     []uint16 `json:"supported_groups"`
	Extensions []uint16 `json:"extensions"`
	Ciphers    []uint16 `json:"cipher_suites"`
	Versions   []uint16 `json:"supported_versions"`
	ALPN       []string `json:"alpn"`
	SNI        string   `json:"sni"`
	Completed  bool     `json:"handshake_completed"`
	Error      string   `json:"error,omitempty"`
	Version    uint16   `json:"version"`
}

func serve(addr string, groups []tls.CurveID, maxConns int) {
	cert := selfSigned()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	for i := 0; maxConns == 0 || i < maxConns; i++ {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		var rep helloReport
		cfg := &tls.Config{
			Certificates:     []tls.Certificate{cert},
			MinVersion:       tls.VersionTLS12,
			CurvePreferences: groups,
			NextProtos:       []string{"h2", "http/1.1"},
			GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
				for _, g := range h.SupportedCurves {
					rep.Groups = append(rep.Groups, uint16(g))
				}
				rep.Extensions = h.Extensions
				rep.Ciphers = h.CipherSuites
				rep.Versions = h.SupportedVersions
				rep.ALPN = h.SupportedProtos
				rep.SNI = h.ServerName
				return nil, nil
			},
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			rep.Error = err.Error()
		} else {
			rep.Completed = true
			rep.Version = tc.ConnectionState().Version
		}
		line, _ := json.Marshal(rep)
		fmt.Println(string(line))
		tc.Close()
	}
}

func connect(addr string, groups []tls.CurveID) {
	cfg := &tls.Config{InsecureSkipVerify: true, CurvePreferences: groups, MinVersion: tls.VersionTLS13,
		NextProtos: []string{"http/1.1"}}
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		fmt.Println(`{"handshake_completed":false,"error":` + fmt.Sprintf("%q", err.Error()) + `}`)
		os.Exit(1)
	}
	defer c.Close()
	// An HTTP/1.1 request, so that a guise echo peer answers with its JSON.
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	buf := make([]byte, 1<<20)
	n := 0
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		k, err := c.Read(buf[n:])
		n += k
		if err != nil || n == len(buf) {
			break
		}
	}
	os.Stdout.Write(buf[:n])
}

func main() {
	listen := flag.String("listen", "", "serve on HOST:PORT")
	dial := flag.String("connect", "", "connect to HOST:PORT")
	groups := flag.String("groups", "X25519MLKEM768:X25519", "key-exchange groups, colon-separated")
	max := flag.Int("max", 0, "stop after this many connections (0: never)")
	flag.Parse()
	g := parseGroups(*groups)
	switch {
	case *listen != "":
		serve(*listen, g, *max)
	case *dial != "":
		connect(*dial, g)
	default:
		flag.Usage()
		os.Exit(2)
	}
}
