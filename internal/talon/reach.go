package talon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"syscall"
)

// Unreachable reports whether err says the API could not be reached at
// all: the host name does not resolve, nothing listens on the port, the
// host or network is unreachable, or TLS fails (a certificate that does
// not verify, a server that does not speak TLS). On a run's first
// requests such an error means the base URL or the network is wrong; later
// it is an outage, worth retrying. cause describes it in a few words.
func Unreachable(err error) (cause string, ok bool) {
	var te *TransportError
	if !errors.As(err, &te) {
		return "", false
	}
	var dns *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var header tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "the host name " + dns.Name + " does not resolve", true
		}
		return "the host name " + dns.Name + " could not be resolved (" + dns.Err + ")", true
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: nothing listens there", true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "the host is unreachable", true
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalid):
		return "its TLS certificate does not verify: " + tlsCause(err), true
	case errors.As(err, &header), errors.As(err, &alert):
		return "the TLS handshake failed: " + tlsCause(err), true
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "it answers plain HTTP, not HTTPS", true
	}
	return "", false
}

// tlsCause is the innermost message of a TLS error.
func tlsCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// HostOf returns the scheme and host of the base URL a transport error's
// request went to, or "" when err is not one.
func HostOf(err error) string {
	var te *TransportError
	if errors.As(err, &te) {
		return te.Host
	}
	return ""
}

// Timeout reports whether err is a request that got no answer in time: a
// transport failure that is a timeout (of the HTTP client, a dial, a
// response header).
func Timeout(err error) bool {
	var te *TransportError
	if !errors.As(err, &te) {
		return false
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
