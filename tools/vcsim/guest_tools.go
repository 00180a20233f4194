package main

// vcsim 0.24 runs no guest, so no VMware Tools report anything: guest.net
// lists each NIC's MAC and nothing else, whatever the VM's power state.
// With -tools-boot, this models what vCenter reports of a guest whose
// VMware Tools (open-vm-tools) start that long after the VM powers on, as
// a Linux guest's would:
//   - guest.toolsRunningStatus guestToolsRunning, toolsStatus toolsOk,
//     guestState running;
//   - guest.hostName: the VM's name (what cloud-init's local-hostname
//     makes it, as provider-vsphere writes its meta-data);
//   - guest.net: one entry per virtual NIC (its MAC, network and device
//     key as deviceConfigId), with an IPv4 address in 10.0.0.0/8 fixed per
//     VM and NIC (as a DHCP server hands out) and the NIC's IPv6 link-local
//     address, in ipAddress and in ipConfig.ipAddress (with prefix length
//     and state);
//   - guest.ipAddress: the first NIC's IPv4 address.
// When the VM powers off or suspends, Tools stop: toolsRunningStatus
// guestToolsNotRunning, toolsStatus toolsNotRunning, guestState
// notRunning, and no addresses or hostname. A reset restarts the boot.
// summary.guest follows guest. Templates are left alone.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"io/ioutil"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// guestTools simulates VMware Tools in every powered-on VM.
type guestTools struct {
	boot time.Duration
	mu   sync.Mutex
	// When each VM last started booting (powered on, resumed or reset).
	booted map[types.ManagedObjectReference]time.Time
}

func newGuestTools(boot time.Duration) *guestTools {
	return &guestTools{boot: boot, booted: map[types.ManagedObjectReference]time.Time{}}
}

// run updates every VM's guest data every interval, until stop is closed.
func (g *guestTools) run(interval time.Duration, stop <-chan struct{}) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
			for _, entity := range simulator.Map.All("VirtualMachine") {
				if vm, ok := entity.(*simulator.VirtualMachine); ok {
					simulator.Map.WithLock(vm, func() { g.update(vm, time.Now()) })
				}
			}
		}
	}
}

// update brings one VM's guest data to what its power state and boot time give.
func (g *guestTools) update(vm *simulator.VirtualMachine, now time.Time) {
	if vm.Config == nil || vm.Config.Template || vm.Guest == nil {
		return
	}
	g.mu.Lock()
	started, seen := g.booted[vm.Self]
	on := vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn
	switch {
	case on && !seen:
		started = now
		g.booted[vm.Self] = now
	case !on && seen:
		delete(g.booted, vm.Self)
	}
	g.mu.Unlock()
	running := on && now.Sub(started) >= g.boot
	next := guestInfoOf(vm, running)
	if sameGuest(vm.Guest, next) {
		return
	}
	summary := types.VirtualMachineGuestSummary{}
	if vm.Summary.Guest != nil {
		summary = *vm.Summary.Guest
	}
	summary.ToolsStatus = next.ToolsStatus
	summary.ToolsRunningStatus = next.ToolsRunningStatus
	summary.HostName = next.HostName
	summary.IpAddress = next.IpAddress
	simulator.Map.Update(vm, []types.PropertyChange{
		{Name: "guest", Val: next},
		{Name: "summary.guest", Val: &summary},
	})
}

// reboot restarts a VM's boot: its Tools stop now and start again after the boot time.
func (g *guestTools) reboot(ref types.ManagedObjectReference) {
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	g.mu.Lock()
	g.booted[ref] = time.Now()
	g.mu.Unlock()
	simulator.Map.WithLock(vm, func() { g.update(vm, time.Now()) })
}

// guestInfoOf is the VM's guest data with Tools running or not.
func guestInfoOf(vm *simulator.VirtualMachine, running bool) *types.GuestInfo {
	next := *vm.Guest
	networks := map[int32]string{}
	for _, nic := range vm.Guest.Net {
		networks[nic.DeviceConfigId] = nic.Network
	}
	next.Net = nil
	next.IpAddress = ""
	next.HostName = ""
	if !running {
		next.ToolsRunningStatus = string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)
		next.GuestState = "notRunning"
		if next.ToolsStatus != types.VirtualMachineToolsStatusToolsNotInstalled {
			next.ToolsStatus = types.VirtualMachineToolsStatusToolsNotRunning
		}
		// vcsim lists each NIC's MAC with no address; so does vCenter while Tools do not run.
		next.Net = nicsOf(vm, networks, false)
		return &next
	}
	next.ToolsRunningStatus = string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
	next.ToolsStatus = types.VirtualMachineToolsStatusToolsOk
	next.ToolsVersion = "12325"
	next.GuestState = "running"
	next.HostName = vm.Name
	next.Net = nicsOf(vm, networks, true)
	for _, nic := range next.Net {
		if len(nic.IpAddress) > 0 {
			next.IpAddress = nic.IpAddress[0]
			break
		}
	}
	return &next
}

// nicsOf is guest.net: an entry per virtual NIC, with addresses when Tools run.
func nicsOf(vm *simulator.VirtualMachine, networks map[int32]string, withAddresses bool) []types.GuestNicInfo {
	var nics []types.GuestNicInfo
	for _, device := range vm.Config.Hardware.Device {
		card, ok := device.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		c := card.GetVirtualEthernetCard()
		info := types.GuestNicInfo{
			Network:        networks[c.Key],
			MacAddress:     c.MacAddress,
			Connected:      true,
			DeviceConfigId: c.Key,
		}
		if mac, err := net.ParseMAC(c.MacAddress); err == nil && withAddresses && len(mac) == 6 {
			v4, v6 := addressesOf(vm, mac)
			info.IpAddress = []string{v4, v6}
			info.IpConfig = &types.NetIpConfigInfo{IpAddress: []types.NetIpConfigInfoIpAddress{
				{IpAddress: v4, PrefixLength: 24, State: string(types.NetIpConfigInfoIpAddressStatusPreferred)},
				{IpAddress: v6, PrefixLength: 64, State: string(types.NetIpConfigInfoIpAddressStatusUnknown)},
			}}
		}
		nics = append(nics, info)
	}
	return nics
}

// addressesOf is the IPv4 address a NIC gets, as a DHCP server would hand
// out one per NIC (10.x.y.z from a hash of the VM's instance UUID and the
// MAC: vcsim gives some VMs the same MAC), and its IPv6 link-local address
// (EUI-64 of the MAC).
func addressesOf(vm *simulator.VirtualMachine, mac net.HardwareAddr) (string, string) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(vm.Config.InstanceUuid))
	_, _ = h.Write(mac)
	sum := h.Sum32()
	last := byte(sum)%254 + 1
	v4 := fmt.Sprintf("10.%d.%d.%d", byte(sum>>24), byte(sum>>16), last)
	v6 := fmt.Sprintf("fe80::%02x%02x:%02xff:fe%02x:%02x%02x", mac[0]^2, mac[1], mac[2], mac[3], mac[4], mac[5])
	return v4, net.ParseIP(v6).String()
}

// sameGuest is true when an update would change nothing a client reads.
func sameGuest(a, b *types.GuestInfo) bool {
	if a.ToolsRunningStatus != b.ToolsRunningStatus || a.ToolsStatus != b.ToolsStatus ||
		a.GuestState != b.GuestState || a.HostName != b.HostName || a.IpAddress != b.IpAddress ||
		len(a.Net) != len(b.Net) {
		return false
	}
	for i := range a.Net {
		x, y := a.Net[i], b.Net[i]
		if x.MacAddress != y.MacAddress || x.DeviceConfigId != y.DeviceConfigId ||
			strings.Join(x.IpAddress, ",") != strings.Join(y.IpAddress, ",") {
			return false
		}
	}
	return true
}

type resetCall struct {
	This *moref `xml:"Body>ResetVM_Task>_this"`
}

// restartToolsOnReset wraps the SOAP handler: after a ResetVM_Task, the
// VM's Tools start again after the boot time, as a guest's do after a reset.
func (g *guestTools) restartToolsOnReset(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/sdk") {
			next.ServeHTTP(w, r)
			return
		}
		body, err := ioutil.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = ioutil.NopCloser(bytes.NewReader(body))
		var call resetCall
		if !bytes.Contains(body, []byte("ResetVM_Task")) || xml.Unmarshal(body, &call) != nil || call.This == nil {
			next.ServeHTTP(w, r)
			return
		}
		g.reboot(call.This.ref())
		next.ServeHTTP(w, r)
	})
}
