# Pinned third-party inputs. Nothing downloaded is committed: the fragments
# below obtain each one from Debian's archive into build/vendor/ and check it.

# BearSSL 0.6, Debian source package bearssl (bookworm).
BEARSSL_DEBVER      := 0.6+dfsg.1-3
BEARSSL_ORIG        := bearssl_0.6+dfsg.1.orig.tar.xz
BEARSSL_ORIG_SHA256 := 102a625bd8f6155260867a50c508df8d8c3f796985dd744df1a68e5cd1a79004
BEARSSL_DSC         := bearssl_0.6+dfsg.1-3.dsc
BEARSSL_DSC_SHA256  := 9bd17e07fc9824b0223dcb4ba14adac17981a4d8f1d63b6655819fe8f2ed98d1

# jsmn 1.1.0: Debian libjsmn-dev (header only, /usr/include/jsmn.h).
# musl 1.2.3: Debian musl-tools (musl-gcc).
# libmnl 1.0.4: Debian libmnl-dev, for the dynamic glibc test variant only;
# the static build uses lib/mnl/ (the subset of libmnl's API we call).
