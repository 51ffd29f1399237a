// SPDX-License-Identifier: GPL-2.0
/*
 * The controllers: module load and unload, the platform devices
 * usbgate_hcd.0 to N-1 (the "controllers" parameter), each parenting a
 * USB 2 root hub and a USB 3 root hub (ports set by the "ports"
 * parameter), the hc_driver and the root hub emulation (port status, port
 * reset and suspend, which become requests to the session on the port),
 * the choice of a free port on any controller for a session, and a port
 * parked for system sleep (sleep.c) hidden from its hub.
 */
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <asm/unaligned.h>

#include "usbgate_hcd.h"

static unsigned int ports = 8;
module_param(ports, uint, 0444);
MODULE_PARM_DESC(ports, "ports on each root hub, 1 to 15 (default 8)");

static unsigned int controllers = 1;
module_param(controllers, uint, 0444);
MODULE_PARM_DESC(controllers,
		 "controllers, each with a USB 2 and a USB 3 root hub, 1 to 16 (default 1)");

DEFINE_SPINLOCK(ugh_lock);
bool ugh_sleeping;

/* Set at load, before the character device exists; read-only after. */
static struct platform_device *ugh_pdevs[UGH_MAX_HCS];
struct ugh_hc *ugh_hcs[UGH_MAX_HCS];
unsigned int ugh_nr_hcs;

/* Port status change bits (wPortChange, shifted as in ugh_port.status). */
#define UGH_C_MASK	0xffff0000u
#define UGH_C(bit)	((u32)(bit) << 16)

struct ugh_hub *ugh_hub(struct usb_hcd *hcd)
{
	return (struct ugh_hub *)hcd->hcd_priv;
}

static u32 ugh_power_bit(bool ss)
{
	return ss ? USB_SS_PORT_STAT_POWER : USB_PORT_STAT_POWER;
}

/* The speed bits of an enabled USB 2 port. */
static u32 ugh_speed_bits(enum usb_device_speed speed)
{
	switch (speed) {
	case USB_SPEED_LOW:
		return USB_PORT_STAT_LOW_SPEED;
	case USB_SPEED_HIGH:
		return USB_PORT_STAT_HIGH_SPEED;
	default:
		return 0;
	}
}

/*
 * What a disable or a reset clears: enable, suspend and on USB 2 the speed
 * (the same bits mean power and speed on a USB 3 port).
 */
static u32 ugh_disable_bits(bool ss)
{
	if (ss)
		return USB_PORT_STAT_ENABLE;
	return USB_PORT_STAT_ENABLE | USB_PORT_STAT_SUSPEND |
	       USB_PORT_STAT_LOW_SPEED | USB_PORT_STAT_HIGH_SPEED;
}

static void ugh_set_link(struct ugh_port *port, u32 state)
{
	port->status &= ~USB_PORT_STAT_LINK_STATE;
	port->status |= state;
}

/* The number of port on its root hub hcd, from 1. */
unsigned int ugh_port_number(struct usb_hcd *hcd, struct ugh_port *port)
{
	struct ugh_hub *hub = ugh_hub(hcd);

	return port - hub->hc->ports[hub->ss] + 1;
}

/*
 * What the hub sees on a port: a device connected (enabled by its reset)
 * or nothing, with the connect change either way. ugh_lock held.
 */
static void ugh_port_plug(struct ugh_port *port, bool ss, bool connected)
{
	if (connected) {
		port->status &= ugh_power_bit(ss);
		port->status |= USB_PORT_STAT_CONNECTION;
	} else {
		port->status &= ugh_power_bit(ss) | UGH_C_MASK;
	}
	port->status |= UGH_C(USB_PORT_STAT_C_CONNECTION);
	if (ss)
		ugh_set_link(port, connected ? USB_SS_PORT_LS_U0 :
				   USB_SS_PORT_LS_RX_DETECT);
}

/*
 * Bind a free port of a root hub matching speed to sess: the first one, on
 * the first controller that has one. Called with ugh_lock held; the caller
 * polls the root hub after unlocking. -EBUSY when every controller's ports
 * of that speed are taken.
 */
int ugh_port_attach(struct ugh_session *sess, enum usb_device_speed speed)
{
	bool ss = speed >= USB_SPEED_SUPER;
	struct ugh_port *port;
	struct ugh_hc *hc;
	unsigned int h, i;

	for (h = 0; h < ugh_nr_hcs; h++) {
		hc = ugh_hcs[h];
		for (i = 0; i < hc->nports; i++) {
			port = &hc->ports[ss][i];
			if (!port->sess)
				goto found;
		}
	}
	return -EBUSY;

found:
	port->sess = sess;
	port->speed = speed;
	port->resets = 0;
	port->parked = ugh_sleeping;
	if (!port->parked)
		ugh_port_plug(port, ss, true);
	sess->port = port;
	sess->hcd = hc->hcd[ss];
	return 0;
}

/* The device on port went away. ugh_lock held. */
void ugh_port_gone(struct ugh_port *port, bool ss)
{
	port->sess = NULL;
	port->speed = USB_SPEED_UNKNOWN;
	if (!port->parked)
		ugh_port_plug(port, ss, false);
	port->parked = false;
}

/*
 * Hide the device on a port from its hub for system sleep, or show it
 * again; the session keeps the port. ugh_lock held; the caller polls the
 * root hub after unlocking.
 */
void ugh_port_park(struct ugh_port *port, bool ss, bool park)
{
	port->parked = park;
	ugh_port_plug(port, ss, !park);
}

/* End a port reset: the frontend answered, or nothing is attached. */
void ugh_port_reset_done(struct ugh_port *port, bool ss)
{
	port->status &= ~USB_PORT_STAT_RESET;
	port->status |= UGH_C(USB_PORT_STAT_C_RESET);
	if (!(port->status & USB_PORT_STAT_CONNECTION))
		return;
	port->status |= USB_PORT_STAT_ENABLE;
	if (ss)
		ugh_set_link(port, USB_SS_PORT_LS_U0);
	else
		port->status |= ugh_speed_bits(port->speed);
}

static void ugh_notify(struct ugh_port *port, unsigned int notice)
{
	if (!port->sess)
		return;
	port->sess->notices |= notice;
	wake_up_interruptible(&port->sess->wait);
}

static int ugh_hub_status(struct usb_hcd *hcd, char *buf)
{
	struct ugh_hub *hub = ugh_hub(hcd);
	struct ugh_hc *hc = hub->hc;
	int len = DIV_ROUND_UP(hc->nports + 1, 8);
	unsigned long flags;
	bool changed = false;
	unsigned int i;

	memset(buf, 0, len);
	spin_lock_irqsave(&ugh_lock, flags);
	if (HCD_HW_ACCESSIBLE(hcd)) {
		for (i = 0; i < hc->nports; i++) {
			if (!(hc->ports[hub->ss][i].status & UGH_C_MASK))
				continue;
			buf[(i + 1) / 8] |= 1 << ((i + 1) % 8);
			changed = true;
		}
		if (changed && hcd->state == HC_STATE_SUSPENDED)
			usb_hcd_resume_root_hub(hcd);
	}
	spin_unlock_irqrestore(&ugh_lock, flags);
	return changed ? len : 0;
}

static void ugh_hub_descriptor(struct ugh_hc *hc, bool ss,
			       struct usb_hub_descriptor *desc)
{
	int width = hc->nports / 8 + 1;

	memset(desc, 0, sizeof(*desc));
	desc->bNbrPorts = hc->nports;
	desc->wHubCharacteristics = cpu_to_le16(HUB_CHAR_INDV_PORT_LPSM |
						HUB_CHAR_INDV_PORT_OCPM);
	if (ss) {
		desc->bDescriptorType = USB_DT_SS_HUB;
		desc->bDescLength = USB_DT_SS_HUB_SIZE;
		desc->u.ss.bHubHdrDecLat = 0;
		desc->u.ss.DeviceRemovable = cpu_to_le16(0);
		return;
	}
	desc->bDescriptorType = USB_DT_HUB;
	desc->bDescLength = USB_DT_HUB_NONVAR_SIZE + 2 * width;
	/* Every port removable; PortPwrCtrlMask all ones. */
	memset(&desc->u.hs.DeviceRemovable[width], 0xff, width);
}

/* The USB 3 root hub's BOS: one SuperSpeed capability. */
static const struct {
	struct usb_bos_descriptor bos;
	struct usb_ss_cap_descriptor ss;
} __packed ugh_bos = {
	.bos = {
		.bLength = USB_DT_BOS_SIZE,
		.bDescriptorType = USB_DT_BOS,
		.wTotalLength = cpu_to_le16(sizeof(ugh_bos)),
		.bNumDeviceCaps = 1,
	},
	.ss = {
		.bLength = USB_DT_USB_SS_CAP_SIZE,
		.bDescriptorType = USB_DT_DEVICE_CAPABILITY,
		.bDevCapabilityType = USB_SS_CAP_TYPE,
		.wSpeedSupported = cpu_to_le16(USB_5GBPS_OPERATION),
		.bFunctionalitySupport = 3,	/* log2 of 5 Gb/s operation */
	},
};

/* The change bit a ClearPortFeature(C_*) selector clears, 0 if none. */
static u32 ugh_change_bit(u16 feature)
{
	switch (feature) {
	case USB_PORT_FEAT_C_CONNECTION:
		return UGH_C(USB_PORT_STAT_C_CONNECTION);
	case USB_PORT_FEAT_C_ENABLE:
		return UGH_C(USB_PORT_STAT_C_ENABLE);
	case USB_PORT_FEAT_C_SUSPEND:
		return UGH_C(USB_PORT_STAT_C_SUSPEND);
	case USB_PORT_FEAT_C_OVER_CURRENT:
		return UGH_C(USB_PORT_STAT_C_OVERCURRENT);
	case USB_PORT_FEAT_C_RESET:
		return UGH_C(USB_PORT_STAT_C_RESET);
	case USB_PORT_FEAT_C_BH_PORT_RESET:
		return UGH_C(USB_PORT_STAT_C_BH_RESET);
	case USB_PORT_FEAT_C_PORT_LINK_STATE:
		return UGH_C(USB_PORT_STAT_C_LINK_STATE);
	case USB_PORT_FEAT_C_PORT_CONFIG_ERROR:
		return UGH_C(USB_PORT_STAT_C_CONFIG_ERROR);
	default:
		return 0;
	}
}

static int ugh_clear_port_feature(struct ugh_port *port, bool ss, u16 feature)
{
	switch (feature) {
	case USB_PORT_FEAT_ENABLE:
		port->status &= ~ugh_disable_bits(ss);
		return 0;
	case USB_PORT_FEAT_POWER:
		port->status &= ~ugh_power_bit(ss);
		return 0;
	case USB_PORT_FEAT_SUSPEND:
		if (ss)
			return -EPIPE;
		if (port->status & USB_PORT_STAT_SUSPEND) {
			port->status &= ~USB_PORT_STAT_SUSPEND;
			port->status |= UGH_C(USB_PORT_STAT_C_SUSPEND);
			ugh_notify(port, UGH_N_RESUME);
		}
		return 0;
	default:
		port->status &= ~ugh_change_bit(feature);
		return 0;
	}
}

static int ugh_set_port_feature(struct ugh_port *port, bool ss, u16 feature,
				u16 arg)
{
	switch (feature) {
	case USB_PORT_FEAT_POWER:
		port->status |= ugh_power_bit(ss);
		return 0;
	case USB_PORT_FEAT_SUSPEND:
		if (ss)
			return -EPIPE;
		if ((port->status & USB_PORT_STAT_ENABLE) &&
		    !(port->status & USB_PORT_STAT_SUSPEND)) {
			port->status |= USB_PORT_STAT_SUSPEND;
			ugh_notify(port, UGH_N_SUSPEND);
		}
		return 0;
	case USB_PORT_FEAT_LINK_STATE:
		if (!ss)
			return -EPIPE;
		if (arg == USB_SS_PORT_LS_U3 >> 5 &&
		    (port->status & USB_PORT_STAT_LINK_STATE) != USB_SS_PORT_LS_U3) {
			ugh_set_link(port, USB_SS_PORT_LS_U3);
			ugh_notify(port, UGH_N_SUSPEND);
		} else if (arg == USB_SS_PORT_LS_U0 >> 5 &&
			   (port->status & USB_PORT_STAT_LINK_STATE) == USB_SS_PORT_LS_U3) {
			ugh_set_link(port, USB_SS_PORT_LS_U0);
			port->status |= UGH_C(USB_PORT_STAT_C_LINK_STATE);
			ugh_notify(port, UGH_N_RESUME);
		}
		return 0;
	case USB_PORT_FEAT_U1_TIMEOUT:
	case USB_PORT_FEAT_U2_TIMEOUT:
	case USB_PORT_FEAT_REMOTE_WAKE_MASK:
		return ss ? 0 : -EPIPE;
	case USB_PORT_FEAT_BH_PORT_RESET:
		if (!ss)
			return -EPIPE;
		fallthrough;
	case USB_PORT_FEAT_RESET:
		if (!(port->status & ugh_power_bit(ss)))
			return 0;
		port->status &= ~ugh_disable_bits(ss);
		port->status |= USB_PORT_STAT_RESET;
		if (!port->sess) {
			ugh_port_reset_done(port, ss);
			return 0;
		}
		/* Held in reset until the frontend answers this number. */
		port->resets++;
		ugh_notify(port, UGH_N_RESET);
		return 0;
	case USB_PORT_FEAT_TEST:
	case USB_PORT_FEAT_INDICATOR:
		return 0;
	default:
		return -EPIPE;
	}
}

static int ugh_hub_control(struct usb_hcd *hcd, u16 req, u16 value, u16 index,
			   char *buf, u16 length)
{
	struct ugh_hub *hub = ugh_hub(hcd);
	struct ugh_hc *hc = hub->hc;
	unsigned int pn = index & 0xff;
	struct ugh_port *port = NULL;
	unsigned long flags;
	int rc = 0;

	if (!HCD_HW_ACCESSIBLE(hcd))
		return -ETIMEDOUT;
	if (pn >= 1 && pn <= hc->nports)
		port = &hc->ports[hub->ss][pn - 1];

	spin_lock_irqsave(&ugh_lock, flags);
	switch (req) {
	case ClearHubFeature:
		break;
	case SetHubFeature:
		rc = -EPIPE;
		break;
	case GetHubStatus:
		put_unaligned_le32(0, buf);
		break;
	case GetHubDescriptor:
		if (hub->ss && (length < USB_DT_SS_HUB_SIZE ||
				value != USB_DT_SS_HUB << 8)) {
			rc = -EPIPE;
			break;
		}
		ugh_hub_descriptor(hc, hub->ss,
				   (struct usb_hub_descriptor *)buf);
		break;
	case DeviceRequest | USB_REQ_GET_DESCRIPTOR:
		if (!hub->ss || value >> 8 != USB_DT_BOS) {
			rc = -EPIPE;
			break;
		}
		rc = min_t(int, length, sizeof(ugh_bos));
		memcpy(buf, &ugh_bos, rc);
		break;
	case GetPortStatus:
		if (!port) {
			rc = -EPIPE;
			break;
		}
		put_unaligned_le16(port->status & 0xffff, buf);
		put_unaligned_le16(port->status >> 16, buf + 2);
		break;
	case ClearPortFeature:
		rc = port ? ugh_clear_port_feature(port, hub->ss, value) :
			    -EPIPE;
		break;
	case SetPortFeature:
		rc = port ? ugh_set_port_feature(port, hub->ss, value,
						 index >> 8) : -EPIPE;
		break;
	default:
		rc = -EPIPE;
		break;
	}
	spin_unlock_irqrestore(&ugh_lock, flags);
	return rc;
}

static int ugh_setup(struct usb_hcd *hcd)
{
	if (usb_hcd_is_primary_hcd(hcd)) {
		hcd->speed = HCD_USB2;
		hcd->self.root_hub->speed = USB_SPEED_HIGH;
		hcd->has_tt = 1;
	} else {
		hcd->speed = HCD_USB3;
		hcd->self.root_hub->speed = USB_SPEED_SUPER;
		/* Bulk streams on SuperSpeed only, as xHCI has them. */
		hcd->can_do_streams = 1;
	}
	/*
	 * Scatter-gather URBs of any shape: the read and write paths copy
	 * the segments into one record, so that usb_sg_init() makes one URB
	 * of a whole sg list instead of one URB per segment.
	 */
	hcd->self.sg_tablesize = ~0;
	hcd->self.no_sg_constraint = 1;
	return 0;
}

static int ugh_start(struct usb_hcd *hcd)
{
	hcd->power_budget = 0;
	hcd->state = HC_STATE_RUNNING;
	hcd->uses_new_polling = 1;
	return 0;
}

static void ugh_stop(struct usb_hcd *hcd)
{
}

static int ugh_get_frame_number(struct usb_hcd *hcd)
{
	return (int)(ktime_to_ms(ktime_get()) & 0x7ff);
}

static int ugh_bus_suspend(struct usb_hcd *hcd)
{
	return 0;
}

static int ugh_bus_resume(struct usb_hcd *hcd)
{
	return 0;
}

static const struct hc_driver ugh_hc_driver = {
	.description = UGH_NAME,
	.product_desc = "usbgate virtual host controller",
	.hcd_priv_size = sizeof(struct ugh_hub),
	.flags = HCD_USB3 | HCD_SHARED,
	.reset = ugh_setup,
	.start = ugh_start,
	.stop = ugh_stop,
	.urb_enqueue = ugh_urb_enqueue,
	.urb_dequeue = ugh_urb_dequeue,
	.get_frame_number = ugh_get_frame_number,
	.hub_status_data = ugh_hub_status,
	.hub_control = ugh_hub_control,
	.bus_suspend = ugh_bus_suspend,
	.bus_resume = ugh_bus_resume,
	.alloc_streams = ugh_alloc_streams,
	.free_streams = ugh_free_streams,
};

static int ugh_probe(struct platform_device *pdev)
{
	struct ugh_hc *hc;
	struct usb_hcd *hs, *ss;
	unsigned int i;
	int rc;

	hc = devm_kzalloc(&pdev->dev, sizeof(*hc), GFP_KERNEL);
	if (!hc)
		return -ENOMEM;
	hc->nports = ports;
	for (i = 0; i < UGH_MAX_PORTS; i++) {
		mutex_init(&hc->ports[0][i].streams_mutex);
		mutex_init(&hc->ports[1][i].streams_mutex);
		init_waitqueue_head(&hc->ports[0][i].sreq_idle);
		init_waitqueue_head(&hc->ports[1][i].sreq_idle);
		ugh_set_link(&hc->ports[1][i], USB_SS_PORT_LS_RX_DETECT);
	}

	hs = usb_create_hcd(&ugh_hc_driver, &pdev->dev, dev_name(&pdev->dev));
	if (!hs)
		return -ENOMEM;
	ugh_hub(hs)->hc = hc;
	ugh_hub(hs)->ss = 0;
	rc = usb_add_hcd(hs, 0, 0);
	if (rc)
		goto put_hs;

	ss = usb_create_shared_hcd(&ugh_hc_driver, &pdev->dev,
				   dev_name(&pdev->dev), hs);
	if (!ss) {
		rc = -ENOMEM;
		goto remove_hs;
	}
	ugh_hub(ss)->hc = hc;
	ugh_hub(ss)->ss = 1;
	rc = usb_add_hcd(ss, 0, 0);
	if (rc)
		goto put_ss;

	hc->hcd[0] = hs;
	hc->hcd[1] = ss;
	platform_set_drvdata(pdev, hc);
	return 0;

put_ss:
	usb_put_hcd(ss);
remove_hs:
	usb_remove_hcd(hs);
put_hs:
	usb_put_hcd(hs);
	return rc;
}

static int ugh_remove(struct platform_device *pdev)
{
	struct ugh_hc *hc = platform_get_drvdata(pdev);

	usb_remove_hcd(hc->hcd[1]);
	usb_put_hcd(hc->hcd[1]);
	usb_remove_hcd(hc->hcd[0]);
	usb_put_hcd(hc->hcd[0]);
	return 0;
}

/*
 * No unbind through sysfs: a controller goes only with the module, once no
 * session is open (each holds a module reference), so that no session and
 * no entry of ugh_hcs points at a controller that is gone.
 */
static struct platform_driver ugh_driver = {
	.probe = ugh_probe,
	.remove = ugh_remove,
	.driver = {
		.name = UGH_NAME,
		.suppress_bind_attrs = true,
	},
};

/* Register controllers usbgate_hcd.0 to n - 1 (each probed at once). */
static int ugh_add_controllers(unsigned int n)
{
	struct platform_device *pdev;

	for (ugh_nr_hcs = 0; ugh_nr_hcs < n; ugh_nr_hcs++) {
		pdev = platform_device_register_simple(UGH_NAME, ugh_nr_hcs,
						       NULL, 0);
		if (IS_ERR(pdev))
			return PTR_ERR(pdev);
		ugh_pdevs[ugh_nr_hcs] = pdev;
		ugh_hcs[ugh_nr_hcs] = platform_get_drvdata(pdev);
		if (!ugh_hcs[ugh_nr_hcs]) {
			platform_device_unregister(pdev);
			return -ENODEV;
		}
	}
	return 0;
}

/* The one way controllers go, at unload or a failed load: the last first. */
static void ugh_del_controllers(void)
{
	while (ugh_nr_hcs) {
		ugh_nr_hcs--;
		platform_device_unregister(ugh_pdevs[ugh_nr_hcs]);
		ugh_pdevs[ugh_nr_hcs] = NULL;
		ugh_hcs[ugh_nr_hcs] = NULL;
	}
}

static int __init ugh_init(void)
{
	int rc;

	if (usb_disabled())
		return -ENODEV;
	if (ports < 1 || ports > UGH_MAX_PORTS) {
		pr_err(UGH_NAME ": ports=%u is not within 1 to %d\n", ports,
		       UGH_MAX_PORTS);
		return -EINVAL;
	}
	if (controllers < 1 || controllers > UGH_MAX_HCS) {
		pr_err(UGH_NAME ": controllers=%u is not within 1 to %d\n",
		       controllers, UGH_MAX_HCS);
		return -EINVAL;
	}
	rc = platform_driver_register(&ugh_driver);
	if (rc)
		return rc;
	rc = ugh_add_controllers(controllers);
	if (rc)
		goto del_controllers;
	rc = ugh_chardev_init();
	if (rc)
		goto del_controllers;
	rc = ugh_sleep_init();
	if (rc) {
		ugh_chardev_exit();
		goto del_controllers;
	}
	return 0;

del_controllers:
	ugh_del_controllers();
	platform_driver_unregister(&ugh_driver);
	return rc;
}

static void __exit ugh_exit(void)
{
	ugh_sleep_exit();
	ugh_chardev_exit();
	ugh_del_controllers();
	platform_driver_unregister(&ugh_driver);
}

module_init(ugh_init);
module_exit(ugh_exit);

MODULE_DESCRIPTION("usbgate virtual host controller");
MODULE_AUTHOR("usbgate");
MODULE_LICENSE("GPL");
