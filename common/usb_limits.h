/*
 * usb_limits.h: the sizes that USB and the usbredir wire fix, named once
 * for every part that indexes by them (frontend tables, the backend's
 * refused-interface filter).
 */
#ifndef USBGATE_USB_LIMITS_H
#define USBGATE_USB_LIMITS_H

/*
 * Endpoint slots: 16 endpoint numbers in each direction. usbredir's
 * ep_info packet and our per-session tables index them as
 * ((address & 0x80) >> 3) | (address & 0x0f).
 */
#define USB_EP_SLOTS		32

/* Interfaces in usbredir's interface_info packet. */
#define USBREDIR_IFACES_MAX	32

#endif
