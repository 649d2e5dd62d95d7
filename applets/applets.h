/* What each applet exports: its entry point and its usage text. */
#ifndef VPCNET_APPLETS_H
#define VPCNET_APPLETS_H

int cni_flannel_main(int argc, char **argv);
extern const char cni_flannel_help[];
int cni_terway_main(int argc, char **argv);
extern const char cni_terway_help[];
int eni_agent_main(int argc, char **argv);
extern const char eni_agent_help[];
int netpolicy_main(int argc, char **argv);
extern const char netpolicy_help[];

#endif
