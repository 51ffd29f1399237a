# usbgate_qubes: usbgate's qubesd extension (Qubes OS dom0), the "usb"
# device class that replaces qubes-usb-proxy-dom0's. ext.py is what qubesd
# loads; qdb.py sanitizes what sys-usb publishes; policy.py decides and
# writes the transient qrexec policy. See doc/qubes.md.
