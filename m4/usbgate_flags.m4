dnl usbgate_flags.m4: probes for compiler and linker flags (warnings, hardening).

dnl USBGATE_CC_FLAG(FLAG, ACTION-IF-OK)
AC_DEFUN([USBGATE_CC_FLAG], [
  AS_VAR_PUSHDEF([cache], [usbgate_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [cache], [
    save_CFLAGS="$CFLAGS"
    CFLAGS="$CFLAGS -Werror -Wformat $1"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])], [AS_VAR_SET([cache], [yes])], [AS_VAR_SET([cache], [no])])
    CFLAGS="$save_CFLAGS"
  ])
  AS_VAR_IF([cache], [yes], [$2])
  AS_VAR_POPDEF([cache])
])

dnl USBGATE_LD_FLAG(FLAG, ACTION-IF-OK)
AC_DEFUN([USBGATE_LD_FLAG], [
  AS_VAR_PUSHDEF([cache], [usbgate_cv_ldflag_$1])
  AC_CACHE_CHECK([whether the linker accepts $1], [cache], [
    save_LDFLAGS="$LDFLAGS"
    LDFLAGS="$LDFLAGS -Werror $1"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])], [AS_VAR_SET([cache], [yes])], [AS_VAR_SET([cache], [no])])
    LDFLAGS="$save_LDFLAGS"
  ])
  AS_VAR_IF([cache], [yes], [$2])
  AS_VAR_POPDEF([cache])
])
