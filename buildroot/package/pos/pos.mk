################################################################################
#
# pos
#
################################################################################

# The source is the tarball `make source-dist` writes: the repository at a
# commit with its Go modules vendored, so the build needs no network
# (Buildroot's Go builds run with GOPROXY=off and -mod=vendor).
POS_VERSION = $(call qstrip,$(BR2_PACKAGE_POS_VERSION))
POS_SITE = $(BR2_EXTERNAL_POS_PATH)/../dist
POS_SITE_METHOD = file
POS_SOURCE = pos-src-$(POS_VERSION).tar.gz
POS_LICENSE = Proprietary
POS_GOMOD = github.com/shoukuan/pos
POS_BUILD_TARGETS = cmd/pos
POS_LDFLAGS = -s -w -X main.version=$(POS_VERSION)
POS_TAGS = netgo osusergo
POS_BOARD = $(call qstrip,$(BR2_PACKAGE_POS_BOARD))

# pos boot supervises the terminal from the software slots on the data
# partition; BusyBox init starts it (board/common/rootfs-overlay/etc/inittab).
define POS_INSTALL_BOARD_NAME
	mkdir -p $(TARGET_DIR)/etc/pos
	echo "$(POS_BOARD)" > $(TARGET_DIR)/etc/pos/board
endef
POS_POST_INSTALL_TARGET_HOOKS += POS_INSTALL_BOARD_NAME

$(eval $(golang-package))
