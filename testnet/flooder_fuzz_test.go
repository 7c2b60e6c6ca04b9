package testnet

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// A flooder's spec on its standard input is refused with an error when
// it is not one JSON object of known fields with a usable key, peers and
// figures; one accepted encodes to a spec accepted the same.
func FuzzDecodeFlooderSpec(f *testing.F) {
	priv, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		f.Fatal(err)
	}
	key, err := crypto.MarshalPrivateKey(priv)
	if err != nil {
		f.Fatal(err)
	}
	good, err := json.Marshal(FlooderSpec{
		Network: "n", Neighborhood: "nb", Key: key, Rate: 5000, For: 20 * time.Second,
		Peers:            []string{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"},
		AdmissionTimeout: 600 * time.Millisecond,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(append(bytes.Clone(good), '{', '}'))
	f.Add([]byte(`{"rate": -1}`))
	f.Add([]byte(`{"unknown": 1}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, err := DecodeFlooderSpec(bytes.NewReader(b))
		if err != nil {
			return
		}
		again, err := json.Marshal(spec)
		if err != nil {
			t.Fatalf("an accepted spec does not encode: %v", err)
		}
		back, err := DecodeFlooderSpec(bytes.NewReader(again))
		if err != nil || !reflect.DeepEqual(back, spec) {
			t.Fatalf("re-decoded %+v, %v; was %+v", back, err, spec)
		}
	})
}
