// Command vcsim serves a simulated vCenter (govmomi's simulator package, VPX
// model) on 127.0.0.1 for VirtRigaud's tests and benchmarks.
//
// It differs from upstream's vcsim command in what the tests need:
//   - it logs in only the username and password given in VCSIM_USERNAME and
//     VCSIM_PASSWORD (never on the command line, where ps would show them);
//   - it serves HTTPS with a certificate it generates at start (ECDSA P-256,
//     for 127.0.0.1 and localhost), written to -cert-out, so clients verify
//     it against a CA file or a pinned SHA-256 thumbprint;
//   - it adds VM templates (a disk, a NIC and a snapshot named "base" each),
//     for cloning and linked clones;
//   - snapshots behave as in vCenter (see snapshots.go): a snapshot without
//     memory records the VM as off, and a revert restores the VM's hardware
//     and power state, which vcsim 0.24 leaves as they are;
//   - it counts the SOAP calls it serves by method: GET /virtrigaud/stats
//     answers them as JSON, GET /virtrigaud/stats?userAgent=UA those of the
//     requests whose User-Agent was UA (a test's own, so tests that share
//     this vcsim count only what they caused), POST /virtrigaud/stats/reset
//     clears them;
//   - with -guest-tools, VMs report what VMware Tools in a booted guest
//     would: hostname and addresses (see guest_tools.go);
//   - once serving, it writes one JSON line (url, thumbprint, cert file) to
//     -info-out, so a start script knows when it is ready.
//
// Build it in GOPATH mode against Debian's golang-github-vmware-govmomi-dev
// (see tools/testbed/vcsim/setup.sh).
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on (host:port; port 0 picks a free one)")
	certOut := flag.String("cert-out", "", "write the generated server certificate (PEM) to this file")
	infoOut := flag.String("info-out", "", "write a JSON line {url, thumbprint, certFile} to this file once serving")
	templates := flag.String("templates", "vrtg-template", "comma-separated names of VM templates to add (empty for none)")
	dc := flag.Int("dc", 1, "datacenters")
	cluster := flag.Int("cluster", 1, "clusters per datacenter")
	clusterHost := flag.Int("host", 3, "hosts per cluster")
	standalone := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	vms := flag.Int("vm", 2, "VMs per resource pool and per standalone host")
	ds := flag.Int("ds", 1, "datastores")
	pg := flag.Int("pg", 1, "distributed port groups per datacenter")
	pod := flag.Int("pod", 1, "datastore clusters (storage pods) per datacenter")
	pool := flag.Int("pool", 1, "child resource pools per cluster")
	folder := flag.Int("folder", 0, "datacenters placed in folders")
	autostart := flag.Bool("autostart", true, "power on the model's VMs")
	tools := flag.Bool("guest-tools", false, "model VMware Tools in every powered-on VM: hostname and addresses (see guest_tools.go)")
	toolsBoot := flag.Duration("tools-boot", time.Second, "with -guest-tools: how long after power-on Tools start reporting")
	flag.Parse()

	username, password := os.Getenv("VCSIM_USERNAME"), os.Getenv("VCSIM_PASSWORD")
	if username == "" || password == "" {
		log.Fatal("VCSIM_USERNAME and VCSIM_PASSWORD must be set")
	}
	host, port, err := net.SplitHostPort(*listen)
	if err != nil {
		log.Fatalf("-listen %q: %v", *listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Fatalf("-listen must be a loopback address, got %q", host)
	}

	model := simulator.VPX()
	model.Datacenter = *dc
	model.Cluster = *cluster
	model.ClusterHost = *clusterHost
	model.Host = *standalone
	model.Machine = *vms
	model.Datastore = *ds
	model.Portgroup = *pg
	model.Pod = *pod
	model.Pool = *pool
	model.Folder = *folder
	model.Autostart = *autostart
	if err := model.Create(); err != nil {
		log.Fatalf("creating the model: %v", err)
	}
	defer model.Remove()

	cert, pemBytes, thumbprint, err := selfSignedCertificate()
	if err != nil {
		log.Fatalf("generating a certificate: %v", err)
	}
	if *certOut != "" {
		if err := ioutil.WriteFile(*certOut, pemBytes, 0o644); err != nil {
			log.Fatalf("writing %s: %v", *certOut, err)
		}
	}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	model.Service.Listen = &url.URL{Host: net.JoinHostPort(host, port), User: url.UserPassword(username, password)}

	server := model.Service.NewServer()
	defer server.Close()
	stats := newCallStats()
	// Nothing has connected yet, so the handler can still be swapped.
	handler := snapshotFidelity(server.Config.Handler)
	if *tools {
		guest := newGuestTools(*toolsBoot)
		handler = guest.restartToolsOnReset(handler)
		stop := make(chan struct{})
		defer close(stop)
		go guest.run(100*time.Millisecond, stop)
	}
	server.Config.Handler = stats.wrap(handler)

	sdkURL := *server.URL
	sdkURL.User = nil
	if names := splitNames(*templates); len(names) > 0 {
		if err := addTemplates(server.URL, names); err != nil {
			log.Fatalf("adding templates: %v", err)
		}
	}
	stats.reset() // the template set-up is not the tests' traffic

	info, _ := json.Marshal(map[string]interface{}{
		"url":        sdkURL.String(),
		"thumbprint": thumbprint,
		"certFile":   *certOut,
		"pid":        os.Getpid(),
	})
	if *infoOut != "" {
		tmp := *infoOut + ".tmp"
		if err := ioutil.WriteFile(tmp, append(info, '\n'), 0o644); err != nil {
			log.Fatalf("writing %s: %v", tmp, err)
		}
		if err := os.Rename(tmp, *infoOut); err != nil {
			log.Fatalf("renaming %s: %v", tmp, err)
		}
	}
	fmt.Println(string(info))

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
}

func splitNames(list string) []string {
	var names []string
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// selfSignedCertificate makes a certificate for 127.0.0.1 and localhost and
// returns it with its PEM form and SHA-256 thumbprint (colon-separated hex).
func selfSignedCertificate() (tls.Certificate, []byte, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, "", err
	}
	template := x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "vcsim.virtrigaud.test", Organization: []string{"VirtRigaud test bed"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, "", err
	}
	sum := sha256.Sum256(der)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return cert, pemBytes, strings.Join(hexes, ":"), nil
}

// addTemplates adds, in the first cluster of the first datacenter, a VM per
// name with a 10 GiB thin disk on a paravirtual SCSI controller and a vmxnet3
// NIC on "VM Network", takes a snapshot "base" of it, and marks it a template.
func addTemplates(u *url.URL, names []string) error {
	ctx := context.Background()
	client, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return err
	}
	defer func() { _ = client.Logout(ctx) }()
	finder := find.NewFinder(client.Client, false)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return err
	}
	finder.SetDatacenter(dc)
	clusters, err := finder.ClusterComputeResourceList(ctx, "*")
	if err != nil {
		return err
	}
	pool, err := clusters[0].ResourcePool(ctx)
	if err != nil {
		return err
	}
	datastores, err := finder.DatastoreList(ctx, "*")
	if err != nil {
		return err
	}
	network, err := finder.Network(ctx, "VM Network")
	if err != nil {
		return err
	}
	backing, err := network.EthernetCardBackingInfo(ctx)
	if err != nil {
		return err
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		return err
	}
	dsName := datastores[0].Name()
	for _, name := range names {
		var devices object.VirtualDeviceList
		scsi, err := devices.CreateSCSIController("pvscsi")
		if err != nil {
			return err
		}
		devices = append(devices, scsi)
		disk := devices.CreateDisk(scsi.(types.BaseVirtualController), datastores[0].Reference(), "")
		disk.CapacityInKB = 10 * 1024 * 1024
		disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).ThinProvisioned = types.NewBool(true)
		nic, err := object.EthernetCardTypes().CreateEthernetCard("vmxnet3", backing)
		if err != nil {
			return err
		}
		devices = append(devices, disk, nic)
		changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
		if err != nil {
			return err
		}
		for _, change := range changes {
			if spec := change.GetVirtualDeviceConfigSpec(); spec.Device == disk {
				spec.FileOperation = types.VirtualDeviceConfigSpecFileOperationCreate
			}
		}
		spec := types.VirtualMachineConfigSpec{
			Name:         name,
			GuestId:      string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest),
			NumCPUs:      1,
			MemoryMB:     1024,
			Firmware:     string(types.GuestOsDescriptorFirmwareTypeBios),
			Files:        &types.VirtualMachineFileInfo{VmPathName: "[" + dsName + "]"},
			DeviceChange: changes,
		}
		task, err := folders.VmFolder.CreateVM(ctx, spec, pool, nil)
		if err != nil {
			return err
		}
		result, err := task.WaitForResult(ctx, nil)
		if err != nil {
			return fmt.Errorf("creating %s: %v", name, err)
		}
		vm := object.NewVirtualMachine(client.Client, result.Result.(types.ManagedObjectReference))
		snapshot, err := vm.CreateSnapshot(ctx, "base", "base of linked clones", false, false)
		if err != nil {
			return err
		}
		if err := snapshot.Wait(ctx); err != nil {
			return fmt.Errorf("snapshotting %s: %v", name, err)
		}
		if err := vm.MarkAsTemplate(ctx); err != nil {
			return fmt.Errorf("marking %s a template: %v", name, err)
		}
	}
	return nil
}

// callStats counts the SOAP calls served, by method name: all of them, and
// apart by the requests' User-Agent.
type callStats struct {
	mu          sync.Mutex
	calls       map[string]int
	byUserAgent map[string]map[string]int
}

func newCallStats() *callStats {
	return &callStats{calls: map[string]int{}, byUserAgent: map[string]map[string]int{}}
}

func (s *callStats) reset() {
	s.mu.Lock()
	s.calls = map[string]int{}
	s.byUserAgent = map[string]map[string]int{}
	s.mu.Unlock()
}

func (s *callStats) count(method, userAgent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	calls := s.byUserAgent[userAgent]
	if calls == nil {
		calls = map[string]int{}
		s.byUserAgent[userAgent] = calls
	}
	calls[method]++
}

// snapshot is the JSON of every call, or with userAgent set (the query's
// userAgent parameter present) of the calls sent with that User-Agent.
func (s *callStats) snapshot(query url.Values) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := s.calls
	if _, only := query["userAgent"]; only {
		calls = s.byUserAgent[query.Get("userAgent")]
		if calls == nil {
			calls = map[string]int{}
		}
	}
	body, _ := json.Marshal(calls)
	return body
}

func (s *callStats) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/virtrigaud/stats" && r.Method == http.MethodGet:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(s.snapshot(r.URL.Query()))
			return
		case r.URL.Path == "/virtrigaud/stats/reset" && r.Method == http.MethodPost:
			s.reset()
			w.WriteHeader(http.StatusNoContent)
			return
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/sdk"):
			body, err := ioutil.ReadAll(r.Body)
			if err == nil {
				r.Body = ioutil.NopCloser(bytes.NewReader(body))
				s.count(soapMethod(body), r.UserAgent())
			}
		}
		next.ServeHTTP(w, r)
	})
}

// soapMethod names the first element inside the SOAP Body, or "unknown".
func soapMethod(body []byte) string {
	decoder := xml.NewDecoder(bytes.NewReader(body))
	inBody := false
	for {
		token, err := decoder.Token()
		if err == io.EOF || err != nil {
			return "unknown"
		}
		if start, ok := token.(xml.StartElement); ok {
			if inBody {
				return start.Name.Local
			}
			inBody = start.Name.Local == "Body"
		}
	}
}
