package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/talonsync/talonsync/internal/talon"
)

// apiKey reads the key from --api-key-file or $TALON_API_KEY. It is never
// taken from a flag value, which other users could read in ps.
func (o *syncOptions) apiKey() (talon.Secret, error) {
	if o.APIKeyFile != "" {
		b, err := os.ReadFile(o.APIKeyFile)
		if err != nil {
			return "", usage(fmt.Errorf("read --api-key-file: %w", err))
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", usage(fmt.Errorf("--api-key-file %s is empty", o.APIKeyFile))
		}
		o.checkKeyFile(o.APIKeyFile)
		return talon.Secret(key), nil
	}
	if key := strings.TrimSpace(o.env.env("TALON_API_KEY")); key != "" {
		return talon.Secret(key), nil
	}
	return "", usage(errors.New("no API key: set $TALON_API_KEY or give --api-key-file PATH"))
}

// baseURL is --base-url, or $TALON_BASE_URL.
func (o *syncOptions) baseURL() string {
	if o.BaseURL != "" {
		return o.BaseURL
	}
	return o.env.env("TALON_BASE_URL")
}

// client builds the API client from the connection flags.
func (o *syncOptions) client() (*talon.Client, error) {
	base := o.baseURL()
	if base == "" {
		return nil, usage(errors.New("no base URL: give --base-url or set $TALON_BASE_URL"))
	}
	key, err := o.apiKey()
	if err != nil {
		return nil, err
	}
	c, err := talon.New(talon.Config{
		BaseURL:           base,
		APIKey:            key,
		HTTPClient:        newHTTPClient(o.RequestTimeout, o.lanes()),
		AllowInsecureHTTP: o.AllowInsecure,
	})
	if errors.Is(err, talon.ErrInsecureURL) {
		return nil, usage(fmt.Errorf("refusing %s: plain http to a non-loopback host would send the API key in clear; use https, or give --allow-insecure-http", redactURL(base)))
	}
	if err != nil {
		return nil, usage(err)
	}
	if o.AllowInsecure {
		o.log().Warn("--allow-insecure-http is set: the API key may cross the network unencrypted")
	}
	return c, nil
}

// newHTTPClient returns a client with every timeout set and a connection
// pool sized for the workers. TLS verification is always on.
func newHTTPClient(timeout time.Duration, workers int) *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          workers + 4,
		MaxIdleConnsPerHost:   workers + 4,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// redactURL drops any user info from a URL for a message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the base URL"
	}
	u.User = nil
	return u.String()
}
