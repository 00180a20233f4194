export const usage = `vcts: the VirtRigaud conformance suite. Proves a provider keeps the ProviderService contract.

Usage:
  vcts run --endpoint URL [options]   run the suite against a running provider
  vcts list                           print the profiles and their cases

Run options:
  --endpoint URL        the provider: http://host:port (with --insecure) or https://host:port
  --insecure            allow plaintext http, and https without verifying the server certificate
  --ca FILE             CA bundle to verify the provider's certificate
  --cert FILE           client certificate, for mutual TLS
  --key FILE            client key, for mutual TLS
  --profile P[,P...]    profiles to run (default: all; see vcts list)
  --image REF           image VMs are created from: template:NAME, path:PATH or url:URL#sha256=HEX
  --network NAME        network VMs attach to (default: none)
  --image-path PATH     a file on the provider's host to prepare an image from (default: one vcts
                        writes to this machine's temp directory)
  --image-url URL#sha256=HEX
                        an image URL to prepare from (default: one vcts serves on 127.0.0.1)
  --export-disk VM_ID/DISK
                        a disk holding bytes for the disk profile to export, of a VM that is
                        off (default: a data disk of a VM each case creates)
  --timeout DURATION    time each case may take (default: 5m)
  --settle DURATION     how long a provider may take to show a change in Describe once its
                        task is done (default: 60s)
  --parallel N          cases run at once (default: 1)
  --junit FILE          write a JUnit XML report
  --json FILE           write a JSON report

Exit status: 0 when every selected case passed and nothing was left behind; 1 when a case
failed or the provider could not be tested; 2 for bad usage.
`;
