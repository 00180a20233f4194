// Command govmomi-list is bench/vsphere's baseline: it lists a datacenter's
// VMs with govmomi the way provider-vsphere's SDK does, with the same calls:
// one ContainerView of VirtualMachine and DistributedVirtualPortgroup, then
// RetrievePropertiesEx with the given VM paths (and the port groups' key and
// name), following ContinueRetrievePropertiesEx tokens. It prints one JSON
// line: VM and property counts, a digest of every object with its property
// count (so the bench can check both sides read the same), the timings (wall
// clock and CPU) and the peak RSS.
//
// The first call is CreateContainerView plus one retrieval; the repeated
// calls are retrievals through the same view. Logging in and finding the
// datacenter come before and are not timed.
//
// It reads VSPHERE_URL, VSPHERE_USERNAME, VSPHERE_PASSWORD and
// VSPHERE_CA_FILE from its environment (never the command line, where ps
// would show the password). Build it in GOPATH mode against Debian's
// golang-github-vmware-govmomi-dev (see build.sh).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type report struct {
	VMs         int       `json:"vms"`
	Objects     int       `json:"objects"`
	Properties  int       `json:"properties"`
	Digest      string    `json:"digest"`
	FirstMs     float64   `json:"firstMs"`
	RepeatedMs  []float64 `json:"repeatedMs"`
	FirstCPU    float64   `json:"firstCpuMs"`
	RepeatedCPU []float64 `json:"repeatedCpuMs"`
	RssBeforeKB int64     `json:"rssBeforeKiB"`
	PeakRssKB   int64     `json:"peakRssKiB"`
}

func main() {
	paths := flag.String("paths", "name", "comma-separated VM property paths")
	repeat := flag.Int("repeat", 5, "retrievals after the first")
	flag.Parse()
	ctx := context.Background()

	u, err := url.Parse(os.Getenv("VSPHERE_URL"))
	if err != nil {
		log.Fatalf("VSPHERE_URL: %v", err)
	}
	sc := soap.NewClient(u, false)
	if ca := os.Getenv("VSPHERE_CA_FILE"); ca != "" {
		if err := sc.SetRootCAs(ca); err != nil {
			log.Fatalf("VSPHERE_CA_FILE: %v", err)
		}
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		log.Fatalf("connecting: %v", err)
	}
	client := &govmomi.Client{Client: vc, SessionManager: session.NewManager(vc)}
	user := url.UserPassword(os.Getenv("VSPHERE_USERNAME"), os.Getenv("VSPHERE_PASSWORD"))
	if err := client.Login(ctx, user); err != nil {
		log.Fatalf("logging in: %v", err)
	}
	defer func() { _ = client.Logout(ctx) }()
	dc, err := find.NewFinder(vc, false).DefaultDatacenter(ctx)
	if err != nil {
		log.Fatalf("finding the datacenter: %v", err)
	}
	propSet := []types.PropertySpec{
		{Type: "VirtualMachine", PathSet: strings.Split(*paths, ",")},
		{Type: "DistributedVirtualPortgroup", PathSet: []string{"key", "name"}},
	}

	out := report{RssBeforeKB: maxRss()}
	started, cpu := time.Now(), cpuMs()
	v, err := view.NewManager(vc).CreateContainerView(ctx, dc.Reference(),
		[]string{"VirtualMachine", "DistributedVirtualPortgroup"}, true)
	if err != nil {
		log.Fatalf("CreateContainerView: %v", err)
	}
	objects := retrieve(ctx, vc, v.Reference(), propSet)
	out.FirstMs = ms(time.Since(started))
	out.FirstCPU = cpuMs() - cpu
	out.VMs, out.Objects, out.Properties, out.Digest = summarize(objects)
	for i := 0; i < *repeat; i++ {
		started, cpu = time.Now(), cpuMs()
		objects = retrieve(ctx, vc, v.Reference(), propSet)
		out.RepeatedMs = append(out.RepeatedMs, ms(time.Since(started)))
		out.RepeatedCPU = append(out.RepeatedCPU, cpuMs()-cpu)
	}
	out.PeakRssKB = maxRss()
	_ = v.Destroy(ctx)
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

// retrieve reads propSet of every object in the view: RetrievePropertiesEx,
// then ContinueRetrievePropertiesEx while the answer carries a token.
func retrieve(ctx context.Context, vc *vim25.Client, viewRef types.ManagedObjectReference,
	propSet []types.PropertySpec) []types.ObjectContent {
	skip := true
	req := types.RetrievePropertiesEx{
		This: vc.ServiceContent.PropertyCollector,
		SpecSet: []types.PropertyFilterSpec{{
			PropSet: propSet,
			ObjectSet: []types.ObjectSpec{{
				Obj:  viewRef,
				Skip: &skip,
				SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{
					SelectionSpec: types.SelectionSpec{Name: "view"},
					Type:          "ContainerView",
					Path:          "view",
				}},
			}},
		}},
	}
	res, err := methods.RetrievePropertiesEx(ctx, vc, &req)
	if err != nil {
		log.Fatalf("RetrievePropertiesEx: %v", err)
	}
	var objects []types.ObjectContent
	for result := res.Returnval; result != nil; {
		objects = append(objects, result.Objects...)
		if result.Token == "" {
			break
		}
		next, err := methods.ContinueRetrievePropertiesEx(ctx, vc, &types.ContinueRetrievePropertiesEx{
			This: vc.ServiceContent.PropertyCollector, Token: result.Token,
		})
		if err != nil {
			log.Fatalf("ContinueRetrievePropertiesEx: %v", err)
		}
		result = &next.Returnval
	}
	return objects
}

// summarize counts the VMs and properties, and digests every object's
// reference with its property count, sorted.
func summarize(objects []types.ObjectContent) (vms, count, properties int, digest string) {
	lines := make([]string, 0, len(objects))
	for _, o := range objects {
		if o.Obj.Type == "VirtualMachine" {
			vms++
		}
		properties += len(o.PropSet)
		lines = append(lines, fmt.Sprintf("%s:%s:%d\n", o.Obj.Type, o.Obj.Value, len(o.PropSet)))
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "")))
	return vms, len(objects), properties, hex.EncodeToString(sum[:])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuMs is the CPU time the process used so far (user and system, all
// threads: the garbage collector's too), in milliseconds.
func cpuMs() float64 {
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e6
}

// maxRss is the process's peak resident set size so far, in KiB.
func maxRss() int64 {
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return usage.Maxrss
}
