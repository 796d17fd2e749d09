// The Go peer of the original CompressTest server: net/http, compress/gzip and compress/flate at
// BestCompression, bzip2 through cgo and libbz2, one goroutine per codec as the original handler
// ran them; and TinySite with the same bytes as compresstest's /tiny.
//
// Usage: peer -tiny BODY_FILE [-listen 127.0.0.1:0]
// BODY_FILE holds the deflate-coded page (compresstest's /tiny body, which bench/run fetches), so
// both servers send one source's bytes. Prints "listening on http://HOST:PORT" once it listens.
//
// POST /compress and POST /: multipart/form-data with one non-empty fileUpload (file) or textEntry
// (text) field, answered with {"original_size","gzip_size","bzip_size","deflate_size"} and
// Access-Control-Allow-Origin: *, as the original client reads them; inputs up to 3 MiB. A codecs
// field is ignored: this peer has the original three codecs only.
package main

/*
#cgo LDFLAGS: -lbz2
#include <bzlib.h>

// The size of in as one bzip2 stream at level 9 (the original's best compression), or -1.
static long bzip2_size(char* in, unsigned int in_nbytes, char* out, unsigned int out_nbytes) {
	int rc = BZ2_bzBuffToBuffCompress(out, &out_nbytes, in, in_nbytes, 9, 0, 0);
	return rc == BZ_OK ? (long)out_nbytes : -1;
}
*/
import "C"

import (
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

const maxInputBytes = 3 << 20               // compresstest's max-input-bytes default
const maxFormBytes = maxInputBytes + 64<<10 // the form's framing on top of the input

// counter is an io.Writer that keeps only the number of bytes written: a size needs no buffer.
type counter struct{ n int }

func (c *counter) Write(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}

func gzipSize(in []byte) int {
	var c counter
	w, _ := gzip.NewWriterLevel(&c, gzip.BestCompression)
	w.Write(in)
	w.Close()
	return c.n
}

func deflateSize(in []byte) int {
	var c counter
	w, _ := flate.NewWriter(&c, flate.BestCompression)
	w.Write(in)
	w.Close()
	return c.n
}

// bzip2Size takes a non-empty input (the handler refuses an empty one).
func bzip2Size(in []byte) int {
	out := make([]byte, len(in)+len(in)/100+600) // libbz2's documented worst case
	n := C.bzip2_size((*C.char)(unsafe.Pointer(&in[0])), C.uint(len(in)),
		(*C.char)(unsafe.Pointer(&out[0])), C.uint(len(out)))
	return int(n)
}

type report struct {
	OriginalSize int     `json:"original_size"`
	GzipSize     int     `json:"gzip_size"`
	BzipSize     int     `json:"bzip_size"`
	DeflateSize  int     `json:"deflate_size"`
	ElapsedMs    float64 `json:"elapsed_ms"`
}

func fail(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": message})
}

// input returns the one non-empty fileUpload or textEntry field of the form.
func input(r *http.Request) ([]byte, int, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
	if err := r.ParseMultipartForm(maxFormBytes); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge, err
		}
		return nil, http.StatusBadRequest, err
	}
	var file []byte
	if f, _, err := r.FormFile("fileUpload"); err == nil {
		file, err = io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, http.StatusBadRequest, err
		}
	}
	text := r.FormValue("textEntry")
	switch {
	case len(file) > 0 && text != "":
		return nil, http.StatusUnprocessableEntity, errors.New("send fileUpload or textEntry, not both")
	case len(file) > 0:
		return file, 0, nil
	case text != "":
		return []byte(text), 0, nil
	}
	return nil, http.StatusBadRequest, errors.New("send a non-empty fileUpload or textEntry field")
}

func compressHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		fail(w, http.StatusMethodNotAllowed, "POST a form")
		return
	}
	in, status, err := input(r)
	if err != nil {
		fail(w, status, err.Error())
		return
	}
	if len(in) > maxInputBytes {
		fail(w, http.StatusRequestEntityTooLarge, "the input is over 3 MiB")
		return
	}
	started := time.Now()
	res := report{OriginalSize: len(in)}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); res.GzipSize = gzipSize(in) }()
	go func() { defer wg.Done(); res.BzipSize = bzip2Size(in) }()
	go func() { defer wg.Done(); res.DeflateSize = deflateSize(in) }()
	wg.Wait()
	res.ElapsedMs = float64(time.Since(started).Microseconds()) / 1000
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	tinyPath := flag.String("tiny", "", "file holding TinySite's deflate-coded body")
	flag.Parse()
	tiny, err := os.ReadFile(*tinyPath)
	if err != nil {
		log.Fatalf("peer: -tiny: %v", err)
	}
	tinyLength := []string{strconv.Itoa(len(tiny))}

	mux := http.NewServeMux()
	mux.HandleFunc("/tiny", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Exactly compresstest's header block: net/http would add Date and a sniffed
		// Content-Type, which a nil entry suppresses.
		h["Content-Encoding"] = []string{"deflate"}
		h["Content-Length"] = tinyLength
		h["Date"] = nil
		h["Content-Type"] = nil
		if r.Method != http.MethodHead {
			w.Write(tiny)
		}
	})
	mux.HandleFunc("/compress", compressHandler)
	mux.HandleFunc("/", compressHandler)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("peer: %v", err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, mux))
}
