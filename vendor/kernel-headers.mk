# musl-gcc searches no /usr/include: give it the kernel UAPI headers and
# jsmn through a generated directory of symlinks.

MULTIARCH := $(shell gcc -print-multiarch)

$(VENDOR)/include/.stamp:
	mkdir -p $(VENDOR)/include
	ln -sfn /usr/include/linux $(VENDOR)/include/linux
	ln -sfn /usr/include/asm-generic $(VENDOR)/include/asm-generic
	ln -sfn /usr/include/$(MULTIARCH)/asm $(VENDOR)/include/asm
	ln -sfn /usr/include/jsmn.h $(VENDOR)/include/jsmn.h
	touch $@
