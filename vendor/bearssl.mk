# BearSSL from Debian's source package, built with musl-gcc into a static
# archive.  `apt-get source --download-only` needs a deb-src entry, which
# `make deps` adds when the machine has none.

BEARSSL_DIR := $(VENDOR)/bearssl
BEARSSL_LIB := $(BEARSSL_DIR)/build/libbearssl.a
BEARSSL_INC := $(BEARSSL_DIR)/inc

$(VENDOR)/dl/$(BEARSSL_ORIG):
	mkdir -p $(VENDOR)/dl
	cd $(VENDOR)/dl && apt-get source --download-only -qq \
		bearssl=$(BEARSSL_DEBVER) >/dev/null 2>&1 || \
		{ echo "apt-get source bearssl failed: run 'sudo make deps'" >&2; exit 1; }

$(BEARSSL_DIR)/.unpacked: $(VENDOR)/dl/$(BEARSSL_ORIG)
	echo "$(BEARSSL_ORIG_SHA256)  $<" | sha256sum -c --quiet -
	echo "$(BEARSSL_DSC_SHA256)  $(VENDOR)/dl/$(BEARSSL_DSC)" | \
		sha256sum -c --quiet -
	rm -rf $(BEARSSL_DIR) && mkdir -p $(BEARSSL_DIR)
	tar -xJf $< -C $(BEARSSL_DIR) --strip-components=1
	touch $@

$(BEARSSL_LIB): $(BEARSSL_DIR)/.unpacked
	$(MAKE) -s -C $(BEARSSL_DIR) lib CC="$(MUSLCC)" LD="$(MUSLCC)" \
		AR=ar CFLAGS="-W -Wall -Os -fPIC" >/dev/null

# The same sources built with the host gcc for the glibc/sanitizer variants.
BEARSSL_GLIBC_LIB := $(BEARSSL_DIR)-glibc/build/libbearssl.a
$(BEARSSL_GLIBC_LIB): $(BEARSSL_DIR)/.unpacked
	rm -rf $(BEARSSL_DIR)-glibc && mkdir -p $(BEARSSL_DIR)-glibc
	tar -xJf $(VENDOR)/dl/$(BEARSSL_ORIG) -C $(BEARSSL_DIR)-glibc \
		--strip-components=1
	$(MAKE) -s -C $(BEARSSL_DIR)-glibc lib CC=gcc LD=gcc AR=ar \
		CFLAGS="-W -Wall -O1 -fPIC" >/dev/null
