//go:debug tlsmlkem=1

// h3server: an HTTP/3 server for guise's interop tests that shares nothing with
// guise's stack (ngtcp2 + nghttp3 + BoringSSL): QUIC and HTTP/3 are quic-go's,
// QPACK is quic-go/qpack's, TLS is Go's crypto/tls. All of it comes from Debian
// trixie's packages (tools/go/fetch-quic-go) and is built in GOPATH mode.
//
//	h3server -listen 127.0.0.1:0 -cert C -key K -log FILE [-tcp] [-seconds 60]
//	    prints "listening 127.0.0.1:PORT" once the UDP socket is bound; with -tcp a
//	    TLS (HTTP/1.1, h2) twin listens on the same TCP port and advertises h3 in
//	    Alt-Svc. Exits by itself after -seconds.
//	h3server -get URL [-ca C] [-post-bytes N] [-n N]
//	    quic-go's own HTTP/3 client: prints one JSON line per response (status,
//	    proto, body length and SHA-256), so a test can check the server alone.
//
// Paths: / (small HTML), /bytes/N (N bytes, byte i = i mod 256), /echo-body (the
// request body back), /status/N (status N), /headers (this request's log record
// as JSON). Any other path: 404.
//
// One JSON line per request goes to -log: protocol, method, path, the header
// fields in the order they came (decoded here from the request stream's HEADERS
// frame with quic-go/qpack, because quic-go hands the handler a map), body length,
// and what the connection showed: QUIC version, TLS version/cipher/ALPN/SNI, the
// ClientHello's cipher suites, extension ids in order, groups, signature schemes,
// the client's transport parameters (as quic-go parsed them: values, not order)
// the client's HTTP/3 SETTINGS in order, and its unidirectional streams ([id, type]
// by id; only those that carried a byte: a stream opened with nothing sent is unseen).
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/qpack"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/logging"
	"github.com/quic-go/quic-go/quicvarint"
)

// Limits: the tests ask for at most a few MiB; anything larger is refused.
const (
	maxBytesPath  = 64 << 20 // /bytes/N
	maxEchoBody   = 16 << 20 // /echo-body keeps the body in memory
	maxHeadPrefix = 64 << 10 // bytes of a request stream read before its HEADERS frame ends
	maxCtrlPrefix = 4 << 10  // bytes of the client's control stream read for its SETTINGS
	settingsWait  = time.Second
)

// ---- per-connection facts, keyed by quic-go's connection tracing id ----------

type connFacts struct {
	QUICVersion         string         `json:"quic_version,omitempty"`
	ClientHello         map[string]any `json:"client_hello,omitempty"`
	TransportParameters map[string]any `json:"transport_parameters,omitempty"`
	H3Settings          [][2]uint64    `json:"h3_settings"`
	UniStreams          [][2]uint64    `json:"uni_streams"` // the client's unidirectional streams: [id, type], by id
	heads               []*streamHead  // request streams, in the order they were accepted
	settingsRead        chan struct{}  // closed once the client's SETTINGS were read
	settingsOnce        sync.Once
	mu                  sync.Mutex
}

type streamHead struct {
	streamID int64
	fields   []qpack.HeaderField
	claimed  bool
}

var (
	factsMu sync.Mutex
	facts   = map[quic.ConnectionTracingID]*connFacts{}
	logMu   sync.Mutex
	logOut  io.Writer = os.Stdout
)

func factsFor(id quic.ConnectionTracingID) *connFacts {
	factsMu.Lock()
	defer factsMu.Unlock()
	f := facts[id]
	if f == nil {
		f = &connFacts{H3Settings: [][2]uint64{}, UniStreams: [][2]uint64{}, settingsRead: make(chan struct{})}
		facts[id] = f
	}
	return f
}

func tracingID(ctx context.Context) (quic.ConnectionTracingID, bool) {
	id, ok := ctx.Value(quic.ConnectionTracingKey).(quic.ConnectionTracingID)
	return id, ok
}

// ---- the connection and stream wrappers that see the bytes before quic-go ----

// teeConn hands quic-go's HTTP/3 server streams whose first bytes are also parsed
// here: the request's HEADERS frame (to keep the field order) and the client's
// control stream SETTINGS.
type teeConn struct {
	quic.Connection
	f *connFacts
}

func (c *teeConn) AcceptStream(ctx context.Context) (quic.Stream, error) {
	s, err := c.Connection.AcceptStream(ctx)
	if err != nil {
		return s, err
	}
	h := &streamHead{streamID: int64(s.StreamID())}
	c.f.mu.Lock()
	c.f.heads = append(c.f.heads, h)
	c.f.mu.Unlock()
	return &teeStream{Stream: s, f: c.f, head: h}, nil
}

func (c *teeConn) AcceptUniStream(ctx context.Context) (quic.ReceiveStream, error) {
	s, err := c.Connection.AcceptUniStream(ctx)
	if err != nil {
		return s, err
	}
	return &teeUni{ReceiveStream: s, f: c.f}, nil
}

type teeStream struct {
	quic.Stream
	f    *connFacts
	head *streamHead
	buf  []byte
	done bool
}

func (s *teeStream) Read(p []byte) (int, error) {
	n, err := s.Stream.Read(p)
	if !s.done && n > 0 {
		s.buf = append(s.buf, p[:n]...)
		s.parse()
	}
	return n, err
}

// parse looks for the first HEADERS frame (RFC 9114 7.2.2) in the bytes so far,
// skipping reserved/unknown frame types before it (7.2.8), and decodes it.
func (s *teeStream) parse() {
	b := s.buf
	for len(b) > 0 {
		ft, n1, err := quicvarint.Parse(b)
		if err != nil {
			return // need more
		}
		fl, n2, err := quicvarint.Parse(b[n1:])
		if err != nil {
			return
		}
		if fl > maxHeadPrefix || uint64(len(b)-n1-n2) < fl {
			if len(s.buf) > maxHeadPrefix || fl > maxHeadPrefix {
				s.finish()
			}
			return
		}
		payload := b[n1+n2 : n1+n2+int(fl)]
		if ft == 0x1 {
			fields, err := qpack.NewDecoder(nil).DecodeFull(payload)
			if err == nil {
				s.f.mu.Lock()
				s.head.fields = fields
				s.f.mu.Unlock()
			}
			s.finish()
			return
		}
		b = b[n1+n2+int(fl):]
	}
}

func (s *teeStream) finish() { s.done, s.buf = true, nil }

type teeUni struct {
	quic.ReceiveStream
	f     *connFacts
	buf   []byte
	done  bool
	typed bool
}

func (s *teeUni) Read(p []byte) (int, error) {
	n, err := s.ReceiveStream.Read(p)
	if !s.done && n > 0 {
		s.buf = append(s.buf, p[:n]...)
		s.parse()
	}
	return n, err
}

// parse reads the stream type (RFC 9114 6.2); on the control stream (0x00) the
// first frame must be SETTINGS (0x04), a list of (id, value) varints (7.2.4).
func (s *teeUni) parse() {
	if len(s.buf) > maxCtrlPrefix {
		s.done, s.buf = true, nil
		return
	}
	st, n0, err := quicvarint.Parse(s.buf)
	if err != nil {
		return
	}
	if !s.typed {
		s.typed = true
		s.f.mu.Lock()
		s.f.UniStreams = append(s.f.UniStreams, [2]uint64{uint64(s.StreamID()), st})
		sort.Slice(s.f.UniStreams, func(i, j int) bool { return s.f.UniStreams[i][0] < s.f.UniStreams[j][0] })
		s.f.mu.Unlock()
	}
	if st != 0x00 {
		s.done, s.buf = true, nil
		return
	}
	b := s.buf[n0:]
	ft, n1, err := quicvarint.Parse(b)
	if err != nil {
		return
	}
	fl, n2, err := quicvarint.Parse(b[n1:])
	if err != nil {
		return
	}
	if ft != 0x4 || fl > maxCtrlPrefix {
		s.done, s.buf = true, nil
		return
	}
	if uint64(len(b)-n1-n2) < fl {
		return
	}
	p := b[n1+n2 : n1+n2+int(fl)]
	var settings [][2]uint64
	for len(p) > 0 {
		id, k1, err := quicvarint.Parse(p)
		if err != nil {
			break
		}
		v, k2, err := quicvarint.Parse(p[k1:])
		if err != nil {
			break
		}
		settings = append(settings, [2]uint64{id, v})
		p = p[k1+k2:]
	}
	s.f.mu.Lock()
	if settings == nil {
		settings = [][2]uint64{}
	}
	s.f.H3Settings = settings
	s.f.mu.Unlock()
	s.f.settingsOnce.Do(func() { close(s.f.settingsRead) })
	s.done, s.buf = true, nil
}

// ---- requests ----------------------------------------------------------------

type record struct {
	Protocol    string      `json:"protocol"`
	Method      string      `json:"method"`
	Path        string      `json:"path"`
	Authority   string      `json:"authority"`
	Headers     [][2]string `json:"headers"`
	HeaderOrder string      `json:"header_order"` // "received" (QPACK) or "unknown" (a map)
	StreamID    int64       `json:"stream_id"`
	BodyLength  int64       `json:"body_length"`
	Status      int         `json:"status"`
	Remote      string      `json:"remote"`
	ConnID      uint64      `json:"conn"`
	TLSVersion  string      `json:"tls_version,omitempty"`
	CipherSuite string      `json:"cipher_suite,omitempty"`
	ALPN        string      `json:"alpn,omitempty"`
	ServerName  string      `json:"server_name,omitempty"`
	Resumed     bool        `json:"resumed"`
	Conn        *connFacts  `json:"connection,omitempty"`
}

// headsFor finds the request stream whose decoded HEADERS carry this request's
// method and path (the first unclaimed one): quic-go does not tell the handler
// which stream it came on.
func headsFor(f *connFacts, r *http.Request) *streamHead {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.heads {
		if h.claimed || h.fields == nil {
			continue
		}
		var m, p string
		for _, hf := range h.fields {
			switch hf.Name {
			case ":method":
				m = hf.Value
			case ":path":
				p = hf.Value
			}
		}
		if m == r.Method && p == r.RequestURI {
			h.claimed = true
			return h
		}
	}
	return nil
}

func handler(tcpPort int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &record{Protocol: r.Proto, Method: r.Method, Path: r.RequestURI, Authority: r.Host,
			Remote: r.RemoteAddr, HeaderOrder: "unknown", StreamID: -1}
		if id, ok := tracingID(r.Context()); ok && r.ProtoMajor == 3 {
			f := factsFor(id)
			rec.ConnID = uint64(id)
			// The client's control stream may come after its first request
			// (RFC 9114 6.2.1 orders nothing between streams): wait a little for it.
			select {
			case <-f.settingsRead:
			case <-time.After(settingsWait):
				f.settingsOnce.Do(func() { close(f.settingsRead) }) // once per connection
			}
			if h := headsFor(f, r); h != nil {
				rec.StreamID = h.streamID
				rec.HeaderOrder = "received"
				for _, hf := range h.fields {
					rec.Headers = append(rec.Headers, [2]string{hf.Name, hf.Value})
				}
			}
			f.mu.Lock()
			snap := &connFacts{QUICVersion: f.QUICVersion, ClientHello: f.ClientHello,
				TransportParameters: f.TransportParameters, H3Settings: f.H3Settings,
				UniStreams: append([][2]uint64{}, f.UniStreams...)}
			f.mu.Unlock()
			rec.Conn = snap
		}
		if rec.Headers == nil {
			// HTTP/1.1 and h2 (the TCP twin): Go gives a map, the order is lost.
			for k, vs := range r.Header {
				for _, v := range vs {
					rec.Headers = append(rec.Headers, [2]string{strings.ToLower(k), v})
				}
			}
		}
		if r.TLS != nil {
			rec.TLSVersion = tls.VersionName(r.TLS.Version)
			rec.CipherSuite = tls.CipherSuiteName(r.TLS.CipherSuite)
			rec.ALPN = r.TLS.NegotiatedProtocol
			rec.ServerName = r.TLS.ServerName
			rec.Resumed = r.TLS.DidResume
		}
		if tcpPort > 0 {
			w.Header().Set("Alt-Svc", fmt.Sprintf(`h3=":%d"; ma=60`, tcpPort))
		}
		body, n, tooBig := readBody(r)
		rec.BodyLength = n
		status, out, ctype := route(r, body, tooBig, rec)
		rec.Status = status
		logRecord(rec)
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			w.Write(out)
		}
	})
}

// readBody keeps at most maxEchoBody bytes and counts all of them.
func readBody(r *http.Request) ([]byte, int64, bool) {
	if r.Body == nil {
		return nil, 0, false
	}
	var keep []byte
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Body.Read(buf)
		n += int64(k)
		if len(keep)+k <= maxEchoBody {
			keep = append(keep, buf[:k]...)
		}
		if err != nil {
			break
		}
	}
	return keep, n, n > maxEchoBody
}

func route(r *http.Request, body []byte, tooBig bool, rec *record) (int, []byte, string) {
	p := r.URL.Path
	switch {
	case p == "/":
		return 200, []byte("<!doctype html>\n<html><head><title>h3server</title></head>" +
			"<body><p>hello over HTTP/3</p></body></html>\n"), "text/html; charset=utf-8"
	case strings.HasPrefix(p, "/bytes/"):
		n, err := strconv.Atoi(p[len("/bytes/"):])
		if err != nil || n < 0 || n > maxBytesPath {
			return 400, []byte("bad /bytes/N: N must be 0.." + strconv.Itoa(maxBytesPath) + "\n"), "text/plain"
		}
		out := make([]byte, n)
		for i := range out {
			out[i] = byte(i)
		}
		return 200, out, "application/octet-stream"
	case p == "/echo-body":
		if tooBig {
			return 413, []byte("body over " + strconv.Itoa(maxEchoBody) + " bytes\n"), "text/plain"
		}
		if body == nil {
			body = []byte{}
		}
		return 200, body, "application/octet-stream"
	case strings.HasPrefix(p, "/status/"):
		n, err := strconv.Atoi(p[len("/status/"):])
		if err != nil || n < 200 || n > 599 {
			return 400, []byte("bad /status/N: N must be 200..599\n"), "text/plain"
		}
		return n, []byte(fmt.Sprintf("status %d\n", n)), "text/plain"
	case p == "/headers":
		rec.Status = 200
		j, _ := json.Marshal(rec)
		return 200, append(j, '\n'), "application/json"
	}
	return 404, []byte("not found\n"), "text/plain"
}

func logRecord(rec *record) {
	j, err := json.Marshal(rec)
	if err != nil {
		return
	}
	logMu.Lock()
	logOut.Write(append(j, '\n'))
	logMu.Unlock()
}

// ---- TLS and QUIC facts --------------------------------------------------------

func u16s[T ~uint16](in []T) []uint16 {
	out := make([]uint16, 0, len(in))
	for _, v := range in {
		out = append(out, uint16(v))
	}
	return out
}

func clientHelloFacts(ch *tls.ClientHelloInfo) map[string]any {
	return map[string]any{
		"server_name":       ch.ServerName,
		"cipher_suites":     u16s(ch.CipherSuites),
		"extensions":        ch.Extensions, // ids in the order sent (Go 1.24)
		"supported_groups":  u16s(ch.SupportedCurves),
		"signature_schemes": u16s(ch.SignatureSchemes),
		"versions":          ch.SupportedVersions,
		"alpn":              ch.SupportedProtos,
	}
}

func transportParameterFacts(p *logging.TransportParameters) map[string]any {
	m := map[string]any{
		"initial_max_data":                    p.InitialMaxData,
		"initial_max_stream_data_bidi_local":  p.InitialMaxStreamDataBidiLocal,
		"initial_max_stream_data_bidi_remote": p.InitialMaxStreamDataBidiRemote,
		"initial_max_stream_data_uni":         p.InitialMaxStreamDataUni,
		"initial_max_streams_bidi":            p.MaxBidiStreamNum,
		"initial_max_streams_uni":             p.MaxUniStreamNum,
		"max_idle_timeout_ms":                 p.MaxIdleTimeout.Milliseconds(),
		"max_udp_payload_size":                p.MaxUDPPayloadSize,
		"ack_delay_exponent":                  p.AckDelayExponent,
		"max_ack_delay_ms":                    p.MaxAckDelay.Milliseconds(),
		"disable_active_migration":            p.DisableActiveMigration,
		"active_connection_id_limit":          p.ActiveConnectionIDLimit,
		"max_datagram_frame_size":             p.MaxDatagramFrameSize,
		"initial_source_connection_id_length": p.InitialSourceConnectionID.Len(),
	}
	return m
}

func serverTLS(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	base := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, NextProtos: []string{"h3"}}
	base.GetConfigForClient = func(ch *tls.ClientHelloInfo) (*tls.Config, error) {
		if id, ok := tracingID(ch.Context()); ok {
			f := factsFor(id)
			f.mu.Lock()
			f.ClientHello = clientHelloFacts(ch)
			f.mu.Unlock()
		}
		return nil, nil
	}
	return base, nil
}

func quicConfig() *quic.Config {
	return &quic.Config{
		MaxIdleTimeout: 30 * time.Second,
		Tracer: func(ctx context.Context, p logging.Perspective, _ quic.ConnectionID) *logging.ConnectionTracer {
			id, ok := tracingID(ctx)
			if !ok {
				return nil
			}
			f := factsFor(id)
			return &logging.ConnectionTracer{
				ReceivedTransportParameters: func(tp *logging.TransportParameters) {
					m := transportParameterFacts(tp)
					f.mu.Lock()
					f.TransportParameters = m
					f.mu.Unlock()
				},
				NegotiatedVersion: func(chosen logging.Version, _, _ []logging.Version) {
					f.mu.Lock()
					f.QUICVersion = chosen.String()
					f.mu.Unlock()
				},
			}
		},
	}
}

// ---- server ----------------------------------------------------------------------

func loopback(addr string) (*net.UDPAddr, error) {
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	if a.IP == nil || !a.IP.IsLoopback() {
		return nil, fmt.Errorf("-listen %s: only loopback addresses (127.0.0.0/8, ::1) are allowed", addr)
	}
	return a, nil
}

// bind opens the UDP socket and, with tcp, a TCP listener on the same port
// number (tried a few times when the port was asked for as 0).
func bind(a *net.UDPAddr, tcp bool) (*net.UDPConn, net.Listener, error) {
	for try := 0; try < 20; try++ {
		u, err := net.ListenUDP("udp", a)
		if err != nil {
			return nil, nil, err
		}
		if !tcp {
			return u, nil, nil
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort(a.IP.String(), strconv.Itoa(port)))
		if err == nil {
			return u, l, nil
		}
		u.Close()
		if a.Port != 0 {
			return nil, nil, err
		}
	}
	return nil, nil, errors.New("no port free for both UDP and TCP after 20 tries")
}

func serve(listen, certFile, keyFile, logPath string, tcp bool, seconds int) error {
	a, err := loopback(listen)
	if err != nil {
		return err
	}
	tlsConf, err := serverTLS(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("loading -cert/-key: %w", err)
	}
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		logOut = f
	}
	udp, tcpL, err := bind(a, tcp)
	if err != nil {
		return err
	}
	port := udp.LocalAddr().(*net.UDPAddr).Port
	tr := &quic.Transport{Conn: udp}
	ln, err := tr.Listen(tlsConf, quicConfig())
	if err != nil {
		return err
	}
	tcpPort := 0
	if tcpL != nil {
		tcpPort = port
	}
	h3 := &http3.Server{Handler: handler(tcpPort)}
	if tcpL != nil {
		twin := tlsConf.Clone()
		twin.GetConfigForClient = nil
		twin.NextProtos = []string{"h2", "http/1.1"}
		hs := &http.Server{Handler: handler(tcpPort), ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(tls.NewListener(tcpL, twin))
		defer hs.Close()
	}
	fmt.Printf("listening %s\n", net.JoinHostPort(a.IP.String(), strconv.Itoa(port)))
	os.Stdout.Sync()

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second)
	defer cancel()
	go func() {
		<-ctx.Done()
		h3.Close()
		ln.Close()
	}()
	for {
		c, err := ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // the time bound: a normal end
			}
			return err
		}
		id, _ := tracingID(c.Context())
		go h3.ServeQUICConn(&teeConn{Connection: c, f: factsFor(id)})
	}
}

// ---- client (the server's own check) ----------------------------------------------

type result struct {
	Status int    `json:"status"`
	Proto  string `json:"proto"`
	Length int    `json:"length"`
	SHA256 string `json:"sha256"`
	Error  string `json:"error,omitempty"`
}

func get(url, caFile string, postBytes, n int) error {
	conf := &tls.Config{NextProtos: []string{"h3"}}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("-ca %s: no PEM certificate", caFile)
		}
		conf.RootCAs = pool
	}
	rt := &http3.Transport{TLSClientConfig: conf}
	defer rt.Close()
	cl := &http.Client{Transport: rt, Timeout: 20 * time.Second}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for i := 0; i < n; i++ {
		var req *http.Request
		var err error
		if postBytes >= 0 {
			body := make([]byte, postBytes)
			for j := range body {
				body[j] = byte(j * 7)
			}
			req, err = http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
		} else {
			req, err = http.NewRequest(http.MethodGet, url, nil)
		}
		if err != nil {
			return err
		}
		res := result{}
		resp, err := cl.Do(req)
		if err != nil {
			res.Error = err.Error()
		} else {
			b, err := io.ReadAll(io.LimitReader(resp.Body, maxBytesPath+1))
			resp.Body.Close()
			res.Status, res.Proto, res.Length = resp.StatusCode, resp.Proto, len(b)
			sum := sha256.Sum256(b)
			res.SHA256 = hex.EncodeToString(sum[:])
			if err != nil {
				res.Error = err.Error()
			}
		}
		j, _ := json.Marshal(res)
		w.Write(append(j, '\n'))
	}
	return nil
}

func main() {
	listen := flag.String("listen", "", "serve HTTP/3 on this loopback UDP address (port 0: any)")
	certFile := flag.String("cert", "", "server certificate (PEM)")
	keyFile := flag.String("key", "", "server key (PEM)")
	logPath := flag.String("log", "", "append one JSON line per request here (default: stdout)")
	tcp := flag.Bool("tcp", false, "also serve HTTP/1.1 and h2 over TLS on the same TCP port, with Alt-Svc: h3")
	seconds := flag.Int("seconds", 60, "exit after this many seconds")
	url := flag.String("get", "", "client mode: request this https:// URL over HTTP/3")
	ca := flag.String("ca", "", "client mode: trust this PEM certificate")
	postBytes := flag.Int("post-bytes", -1, "client mode: POST this many bytes (byte j = 7j mod 256)")
	n := flag.Int("n", 1, "client mode: this many requests over one connection")
	flag.Parse()
	var err error
	switch {
	case *url != "":
		err = get(*url, *ca, *postBytes, *n)
	case *listen != "":
		if *certFile == "" || *keyFile == "" {
			err = errors.New("-listen needs -cert and -key")
		} else if *seconds <= 0 || *seconds > 3600 {
			err = errors.New("-seconds must be 1..3600")
		} else {
			err = serve(*listen, *certFile, *keyFile, *logPath, *tcp, *seconds)
		}
	default:
		err = errors.New("usage: h3server -listen ADDR -cert C -key K [-log F] [-tcp] [-seconds S] | -get URL [-ca C] [-post-bytes N] [-n N]")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "h3server: %v\n", err)
		os.Exit(1)
	}
}
