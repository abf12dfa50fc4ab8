// Command web is the Lab 85 example service: a small HTTP API whose
// configuration comes from a ConfigMap (GREETING) and a Secret (API_TOKEN).
//
// Endpoints:
//
//	GET /          greeting as JSON
//	GET /healthz   liveness: the process is serving HTTP
//	GET /readyz    readiness: configuration is loaded and we are not draining
//
// and, on a separate port (METRICS_PORT, default 9090), GET /metrics in the
// Prometheus text format.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	addr := ":" + envOr("PORT", "8080")
	metricsAddr := ":" + envOr("METRICS_PORT", "9090")
	greeting := envOr("GREETING", "hello from lab 85")
	token := os.Getenv("API_TOKEN")
	started := time.Now()

	var draining atomic.Bool
	var served, notReady atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		served.Add(1)
		host, _ := os.Hostname()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"message": greeting, "pod": host})
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if token == "" || draining.Load() {
			notReady.Add(1)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})

	metrics := http.NewServeMux()
	metrics.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		ready := 1
		if token == "" || draining.Load() {
			ready = 0
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP web_requests_total Greeting requests served.\n# TYPE web_requests_total counter\nweb_requests_total %d\n", served.Load())
		fmt.Fprintf(w, "# HELP web_not_ready_total Readiness checks answered not ready.\n# TYPE web_not_ready_total counter\nweb_not_ready_total %d\n", notReady.Load())
		fmt.Fprintf(w, "# HELP web_ready Whether the instance accepts traffic.\n# TYPE web_ready gauge\nweb_ready %d\n", ready)
		fmt.Fprintf(w, "# HELP process_start_time_seconds Start time of the process since the Unix epoch.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %d\n", started.Unix())
	})

	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	metricsSrv := &http.Server{Addr: metricsAddr, Handler: metrics, ReadHeaderTimeout: 5 * time.Second}
	for _, s := range []*http.Server{srv, metricsSrv} {
		go func(s *http.Server) {
			log.Printf("listening on %s", s.Addr)
			if err := s.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Fatal(err)
			}
		}(s)
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	// Fail readiness first so the endpoints controller removes us before we stop accepting.
	draining.Store(true)
	time.Sleep(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	_ = metricsSrv.Shutdown(ctx)
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
