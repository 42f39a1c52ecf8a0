include $(sort $(wildcard $(BR2_EXTERNAL_POS_PATH)/package/*/*.mk))
