package ocpp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
	"github.com/lorenzodonini/ocpp-go/ws"
)

// wsServer is the websocket side of the central system, in place of
// ocpp-go's ws.Server, which listens on every interface of a port it
// picks from an int (not on the home file's address, and without a
// race-free way to learn a port chosen by the kernel), and which refuses a
// charger's new connection while it still holds the old one, which after
// a silent disconnect it does until its read deadline. This one serves on
// a listener it is given, replaces a charger's old connection with its
// new one, and takes a connection that carries nothing (no message, no
// ping) for SilenceTimeout as dead.
type wsServer struct {
	ln      net.Listener
	silence time.Duration
	log     *slog.Logger
	started chan struct{} // closed when Start serves

	// Set before Start by ocppj; read-only after.
	onMessage    func(ws.Channel, []byte) error
	onConnect    func(ws.Channel)
	onDisconnect func(ws.Channel)
	checkClient  func(string, *http.Request) bool

	upgrader websocket.Upgrader
	http     *http.Server

	mu    sync.Mutex // guards conns
	conns map[string]*wsConn
}

var _ ws.WsServer = (*wsServer)(nil)

// writeWait bounds one write to a charger: a frame of a few hundred bytes
// on a LAN; a charger that takes 10 s to take it is gone.
const writeWait = 10 * time.Second

func newWSServer(ln net.Listener, silence time.Duration, log *slog.Logger) *wsServer {
	s := &wsServer{ln: ln, silence: silence, log: log, started: make(chan struct{}), conns: make(map[string]*wsConn)}
	s.upgrader = websocket.Upgrader{Subprotocols: []string{types.V16Subprotocol}}
	s.http = &http.Server{Handler: http.HandlerFunc(s.serveWS), ReadHeaderTimeout: writeWait}
	return s
}

// wsConn is one charger's websocket.
type wsConn struct {
	id   string
	conn *websocket.Conn
	tls  *tls.ConnectionState
	wmu  sync.Mutex // serializes writes
	once sync.Once
}

func (c *wsConn) ID() string                               { return c.id }
func (c *wsConn) RemoteAddr() net.Addr                     { return c.conn.RemoteAddr() }
func (c *wsConn) TLSConnectionState() *tls.ConnectionState { return c.tls }

// Start serves on the listener until Stop; port and path are not used
// (the listener has its address; the charge point ID is the last element
// of whatever path the charger connects to).
func (s *wsServer) Start(int, string) {
	close(s.started)
	if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Warn("websocket server stopped", "err", err)
	}
}

// Stop closes the listener and every connection.
func (s *wsServer) Stop() {
	_ = s.http.Close()
	s.mu.Lock()
	conns := s.conns
	s.conns = make(map[string]*wsConn)
	s.mu.Unlock()
	for _, c := range conns {
		s.drop(c)
	}
}

// StopConnection closes one charger's connection.
func (s *wsServer) StopConnection(id string, ce websocket.CloseError) error {
	s.mu.Lock()
	c := s.conns[id]
	s.mu.Unlock()
	if c == nil {
		return fmt.Errorf("no connection of %s", id)
	}
	c.wmu.Lock()
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(ce.Code, ce.Text), time.Now().Add(writeWait))
	c.wmu.Unlock()
	_ = c.conn.Close() // the reader then drops it
	return nil
}

// Errors is never sent on: errors are logged.
func (s *wsServer) Errors() <-chan error { return nil }

func (s *wsServer) SetMessageHandler(h func(ws.Channel, []byte) error)       { s.onMessage = h }
func (s *wsServer) SetNewClientHandler(h func(ws.Channel))                   { s.onConnect = h }
func (s *wsServer) SetDisconnectedClientHandler(h func(ws.Channel))          { s.onDisconnect = h }
func (s *wsServer) SetTimeoutConfig(ws.ServerTimeoutConfig)                  {}
func (s *wsServer) AddSupportedSubprotocol(string)                           {}
func (s *wsServer) SetBasicAuthHandler(func(string, string) bool)            {}
func (s *wsServer) SetCheckOriginHandler(func(*http.Request) bool)           {}
func (s *wsServer) SetCheckClientHandler(h func(string, *http.Request) bool) { s.checkClient = h }
func (s *wsServer) Addr() *net.TCPAddr                                       { a, _ := s.ln.Addr().(*net.TCPAddr); return a }
func (s *wsServer) Connections(string) *ws.WebSocket                         { return nil }

// Write sends one OCPP-J frame to charger id.
func (s *wsServer) Write(id string, data []byte) error {
	s.mu.Lock()
	c := s.conns[id]
	s.mu.Unlock()
	if c == nil {
		return fmt.Errorf("charger %s is not connected", id)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(writeWait))
	if err := c.conn.WriteMessage(websocket.TextMessage, data); err != nil {
		_ = c.conn.Close() // the reader then drops it
		return fmt.Errorf("write to %s: %w", id, err)
	}
	return nil
}

// serveWS upgrades a charger's request and reads its connection until it
// ends.
func (s *wsServer) serveWS(w http.ResponseWriter, r *http.Request) {
	id := path.Base(r.URL.Path)
	if s.checkClient != nil && !s.checkClient(id, r) {
		http.Error(w, "unknown charge point", http.StatusUnauthorized)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) || !offers(r, types.V16Subprotocol) {
		http.Error(w, "want a websocket of subprotocol ocpp1.6", http.StatusBadRequest)
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Info("websocket upgrade failed", "charger", id, "err", err)
		return
	}
	c := &wsConn{id: id, conn: conn, tls: r.TLS}
	s.mu.Lock()
	old := s.conns[id]
	s.mu.Unlock()
	if old != nil {
		// Before the new one is known: the OCPP-J layer forgets a
		// charger by its ID.
		s.log.Info("charger connected again; dropping its old connection", "charger", id)
		s.drop(old)
	}
	s.mu.Lock()
	s.conns[id] = c
	s.mu.Unlock()
	s.onConnect(c)
	s.read(c)
}

// offers reports whether the request offers subprotocol p.
func offers(r *http.Request, p string) bool {
	for _, q := range websocket.Subprotocols(r) {
		if q == p {
			return true
		}
	}
	return false
}

// read hands every frame of c to the OCPP-J layer until c ends, then
// drops it.
func (s *wsServer) read(c *wsConn) {
	defer s.drop(c)
	extend := func() { _ = c.conn.SetReadDeadline(time.Now().Add(s.silence)) }
	c.conn.SetPingHandler(func(data string) error {
		extend()
		c.wmu.Lock()
		defer c.wmu.Unlock()
		return c.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
	})
	for {
		extend()
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			s.log.Info("charger connection ended", "charger", c.id, "err", err)
			return
		}
		if err := s.onMessage(c, msg); err != nil {
			s.log.Info("bad OCPP-J frame from charger", "charger", c.id, "err", err)
		}
	}
}

// drop closes c and, once, tells the OCPP-J layer it is gone (if it is
// still the charger's connection: a replaced one is already forgotten).
func (s *wsServer) drop(c *wsConn) {
	c.once.Do(func() {
		_ = c.conn.Close()
		s.mu.Lock()
		current := s.conns[c.id] == c
		if current {
			delete(s.conns, c.id)
		}
		s.mu.Unlock()
		if current {
			s.onDisconnect(c)
		}
	})
}
