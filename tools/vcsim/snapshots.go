package main

// vcsim 0.24 takes snapshots and reverts to them only in name: every
// snapshot records the VM's power state whether or not it holds memory, and
// a revert moves the current-snapshot pointer without restoring anything.
// This wrapper gives both vCenter's documented behaviour, so tests of a
// client's snapshot handling mean something:
//   - a snapshot taken without memory records the VM as powered off (as
//     vCenter does: reverting to it leaves the VM off);
//   - a revert restores the hardware (CPU, memory, devices) the VM had when
//     the snapshot was taken, and the power state the snapshot records.

import (
	"bytes"
	"encoding/xml"
	"io/ioutil"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

type moref struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

func (m moref) ref() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: m.Type, Value: strings.TrimSpace(m.Value)}
}

type snapshotCall struct {
	CreateThis   *moref `xml:"Body>CreateSnapshot_Task>_this"`
	CreateMemory bool   `xml:"Body>CreateSnapshot_Task>memory"`
	RevertThis   *moref `xml:"Body>RevertToSnapshot_Task>_this"`
}

type taskResponse struct {
	Task *moref `xml:"Body>CreateSnapshot_TaskResponse>returnval"`
}

func snapshotFidelity(next http.Handler) http.Handler {
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
		var call snapshotCall
		if !bytes.Contains(body, []byte("Snapshot_Task")) || xml.Unmarshal(body, &call) != nil ||
			(call.CreateThis == nil && call.RevertThis == nil) {
			next.ServeHTTP(w, r)
			return
		}
		// Answer only once the fix-up is done, so the client never sees the state before it.
		recorder := httptest.NewRecorder()
		next.ServeHTTP(recorder, r)
		if recorder.Code == http.StatusOK {
			if call.CreateThis != nil {
				var res taskResponse
				if xml.Unmarshal(recorder.Body.Bytes(), &res) == nil && res.Task != nil {
					afterCreate(call.CreateThis.ref(), res.Task.ref(), call.CreateMemory)
				}
			} else {
				afterRevert(call.RevertThis.ref())
			}
		}
		for k, v := range recorder.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(recorder.Code)
		_, _ = w.Write(recorder.Body.Bytes())
	})
}

func findTree(trees []types.VirtualMachineSnapshotTree, ref types.ManagedObjectReference) *types.VirtualMachineSnapshotTree {
	for i := range trees {
		if trees[i].Snapshot == ref {
			return &trees[i]
		}
		if found := findTree(trees[i].ChildSnapshotList, ref); found != nil {
			return found
		}
	}
	return nil
}

func afterCreate(vmRef, taskRef types.ManagedObjectReference, memory bool) {
	task, ok := simulator.Map.Get(taskRef).(*simulator.Task)
	if !ok || task.Info.State != types.TaskInfoStateSuccess {
		return
	}
	snapshot, ok := task.Info.Result.(types.ManagedObjectReference)
	if !ok || memory {
		return
	}
	vm, ok := simulator.Map.Get(vmRef).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	simulator.Map.WithLock(vm, func() {
		if vm.Snapshot == nil {
			return
		}
		if tree := findTree(vm.Snapshot.RootSnapshotList, snapshot); tree != nil {
			tree.State = types.VirtualMachinePowerStatePoweredOff
		}
	})
}

func afterRevert(snapshotRef types.ManagedObjectReference) {
	snapshot, ok := simulator.Map.Get(snapshotRef).(*simulator.VirtualMachineSnapshot)
	if !ok {
		return
	}
	vm, ok := simulator.Map.Get(snapshot.Vm).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	simulator.Map.WithLock(vm, func() {
		if vm.Snapshot == nil {
			return
		}
		tree := findTree(vm.Snapshot.RootSnapshotList, snapshotRef)
		if tree == nil {
			return
		}
		hardware := snapshot.Config.Hardware
		hardware.Device = append([]types.BaseVirtualDevice(nil), hardware.Device...)
		state := tree.State
		if state == types.VirtualMachinePowerStateSuspended {
			state = types.VirtualMachinePowerStatePoweredOff
		}
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "config.hardware", Val: hardware},
			{Name: "summary.config.numCpu", Val: hardware.NumCPU},
			{Name: "summary.config.memorySizeMB", Val: hardware.MemoryMB},
			{Name: "runtime.powerState", Val: state},
			{Name: "summary.runtime.powerState", Val: state},
		})
	})
}
