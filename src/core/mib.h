/* The stack's counters: the Linux MIBs of /proc/net/snmp and
 * /proc/net/netstat under their nstat names, plus one counter per drop
 * reason (every drop has an enumerated reason, and every reason is a
 * counter, as in the kernel's enum skb_drop_reason). */
#ifndef US_MIB_H
#define US_MIB_H

#include <stdint.h>

#define US_MIB_LIST(X)                                                        \
	X(IpInReceives) X(IpInHdrErrors) X(IpInAddrErrors) X(IpForwDatagrams)  \
	X(IpInUnknownProtos) X(IpInDiscards) X(IpInDelivers) X(IpOutRequests)  \
	X(IpOutDiscards) X(IpOutNoRoutes) X(IpReasmTimeout) X(IpReasmReqds)    \
	X(IpReasmOKs) X(IpReasmFails) X(IpFragOKs) X(IpFragFails)              \
	X(IpFragCreates)                                                      \
	X(IpExtInNoRoutes) X(IpExtInTruncatedPkts) X(IpExtInBcastPkts)         \
	X(IpExtOutBcastPkts) X(IpExtInMcastPkts) X(IpExtOutMcastPkts)          \
	X(IpExtInOctets) X(IpExtOutOctets) X(IpExtInCsumErrors)                \
	X(IpExtReasmOverlaps)                                                 \
	X(IcmpInMsgs) X(IcmpInErrors) X(IcmpInCsumErrors)                      \
	X(IcmpInDestUnreachs) X(IcmpInTimeExcds) X(IcmpInParmProbs)            \
	X(IcmpInSrcQuenchs) X(IcmpInRedirects) X(IcmpInEchos)                  \
	X(IcmpInEchoReps) X(IcmpInTimestamps) X(IcmpInTimestampReps)           \
	X(IcmpOutMsgs) X(IcmpOutErrors)                                        \
	X(IcmpOutRateLimitGlobal) X(IcmpOutRateLimitHost)                      \
	X(IcmpOutDestUnreachs) X(IcmpOutTimeExcds) X(IcmpOutParmProbs)         \
	X(IcmpOutEchos) X(IcmpOutEchoReps) X(IcmpOutTimestampReps)             \
	X(UdpInDatagrams) X(UdpNoPorts) X(UdpInErrors) X(UdpOutDatagrams)      \
	X(UdpRcvbufErrors) X(UdpSndbufErrors) X(UdpInCsumErrors)               \
	X(UdpIgnoredMulti)                                                    \
	X(TcpActiveOpens) X(TcpPassiveOpens) X(TcpAttemptFails)                \
	X(TcpEstabResets) X(TcpCurrEstab) X(TcpInSegs) X(TcpOutSegs)           \
	X(TcpRetransSegs) X(TcpInErrs) X(TcpOutRsts) X(TcpInCsumErrors)        \
	X(TcpExtSyncookiesSent) X(TcpExtSyncookiesRecv)                        \
	X(TcpExtSyncookiesFailed) X(TcpExtEmbryonicRsts) X(TcpExtPruneCalled)   \
	X(TcpExtOfoPruned) X(TcpExtOutOfWindowIcmps) X(TcpExtTW)               \
	X(TcpExtTWRecycled) X(TcpExtTWKilled) X(TcpExtPAWSActive)               \
	X(TcpExtPAWSEstab) X(TcpExtDelayedACKs) X(TcpExtDelayedACKLocked)       \
	X(TcpExtDelayedACKLost) X(TcpExtListenOverflows) X(TcpExtListenDrops)   \
	X(TcpExtTCPHPHits) X(TcpExtTCPPureAcks) X(TcpExtTCPHPAcks)              \
	X(TcpExtTCPRenoRecovery) X(TcpExtTCPRenoFailures)                       \
	X(TcpExtTCPLossUndo) X(TcpExtTCPTimeouts) X(TcpExtTCPFastRetrans)       \
	X(TcpExtTCPSlowStartRetrans) X(TcpExtTCPLostRetransmit)                 \
	X(TcpExtTCPRenoReorder) X(TcpExtTCPAbortOnData)                         \
	X(TcpExtTCPAbortOnClose) X(TcpExtTCPAbortOnMemory)                      \
	X(TcpExtTCPAbortOnTimeout) X(TcpExtTCPAbortOnLinger)                    \
	X(TcpExtTCPAbortFailed) X(TcpExtTCPMemoryPressures)                     \
	X(TcpExtTCPRcvCollapsed) X(TcpExtTCPOFOQueue) X(TcpExtTCPOFODrop)       \
	X(TcpExtTCPOFOMerge) X(TcpExtTCPChallengeACK) X(TcpExtTCPSYNChallenge)  \
	X(TcpExtTCPSpuriousRTOs) X(TcpExtTCPSynRetrans)                        \
	X(TcpExtTCPOrigDataSent) X(TcpExtTCPKeepAlive) X(TcpExtTCPWinProbe)     \
	X(TcpExtTCPZeroWindowDrop) X(TcpExtTCPRcvQDrop) X(TcpExtTCPAckCompressed) \
	X(TcpExtTCPTimeWaitOverflow) X(TcpExtTCPReqQFullDrop)                   \
	X(TcpExtTCPReqQFullDoCookies) X(TcpExtTCPACKSkippedSeq)                 \
	X(TcpExtTCPACKSkippedChallenge) X(TcpExtTCPWantZeroWindowAdv)           \
	X(TcpExtTCPToZeroWindowAdv) X(TcpExtTCPFromZeroWindowAdv)               \
	X(TcpExtTCPDSACKOldSent) X(TcpExtTCPDSACKOfoSent)                       \
	X(ArpInRequests) X(ArpInReplies) X(ArpOutRequests) X(ArpOutReplies)    \
	X(ArpInGratuitous) X(ArpCacheAllocs) X(ArpCacheDestroys)               \
	X(ArpCacheResFailed) X(ArpCacheUnresolvedDiscards)                     \
	X(ArpCacheTableFulls) X(ArpCacheForcedGcRuns)

#define US_DROP_LIST(X)                                                       \
	X(NOT_SPECIFIED)    /* no better reason */                            \
	X(NOMEM)            /* buffer pool exhausted */                       \
	X(ETH_MALFORMED)    /* frame shorter than an Ethernet header */       \
	X(OTHERHOST)        /* unicast to another MAC, not promiscuous */     \
	X(UNHANDLED_PROTO)  /* ethertype with no handler (IPv6, LLDP...) */   \
	X(DEV_DOWN)         /* frame for or from a device that is down */     \
	X(ARP_MALFORMED)                                                     \
	X(ARP_IGNORED)      /* not for us, or not a type we answer */        \
	X(NEIGH_FAILED)     /* next hop did not answer ARP */                 \
	X(NEIGH_QUEUEFULL)  /* too much waiting for resolution */             \
	X(IP_HDR)           /* bad version, IHL, length (InHdrErrors) */      \
	X(IP_CSUM)          /* bad header checksum */                         \
	X(IP_TRUNCATED)     /* frame shorter than total length */             \
	X(IP_OPTIONS)       /* malformed IP options */                        \
	X(IP_INADDRERRORS)  /* not for us and not forwarding */               \
	X(IP_INNOROUTES)    /* no route to forward it */                      \
	X(IP_NOPROTO)       /* no handler for the IP protocol */              \
	X(IP_TTL)           /* TTL expired while forwarding */                \
	X(IP_FRAG_NEEDED)   /* DF set and larger than the next-hop MTU */     \
	X(IP_OUTNOROUTES)   /* no route for a locally sent packet */          \
	X(IP_RPFILTER)      /* martian source (loopback, multicast...) */     \
	X(FRAG_OVERLAP)     /* RFC 5722: overlapping fragments */             \
	X(FRAG_DUPLICATE)   /* a fragment we already hold */                 \
	X(FRAG_TIMEOUT)                                                      \
	X(FRAG_MEMLIMIT)    /* reassembly memory cap reached */               \
	X(FRAG_TOO_BIG)     /* reassembled size over 65535 */                 \
	X(FRAG_INVALID)     /* inconsistent fragment (length, last) */        \
	X(ICMP_CSUM)                                                         \
	X(ICMP_MALFORMED)                                                    \
	X(UDP_CSUM)                                                          \
	X(UDP_MALFORMED)                                                     \
	X(NO_SOCKET)                                                         \
	X(SOCKET_RCVBUFF)                                                    \
	X(TCP_CSUM)                                                          \
	X(TCP_MALFORMED)                                                     \
	X(TCP_NO_SOCKET)    /* answered with RST, or a RST for nobody */      \
	X(TCP_INVALID_SEQ)  /* outside the receive window */                   \
	X(TCP_OLD_ACK)      /* ACK before SND.UNA - MAX.SND.WND */            \
	X(TCP_TOO_NEW_ACK)  /* ACK beyond SND.NXT */                          \
	X(TCP_PAWS)         /* RFC 7323 5: old timestamp */                   \
	X(TCP_RST)          /* a RST that closed nothing */                    \
	X(TCP_FLAGS)        /* a flag combination with no meaning here */     \
	X(TCP_OLD_DATA)     /* all of it received already */                   \
	X(TCP_ZEROWINDOW)   /* data while our window is zero */                \
	X(TCP_OFO_DROP)     /* out-of-order data over the buffer */            \
	X(TCP_LISTEN_OVERFLOW)                                               \
	X(TCP_CLOSE)        /* data after our side closed */                   \
	X(QDISC_DROP)       /* queue discipline full */                       \
	X(NETEM_LOSS)       /* impairment: lost on purpose */                 \
	X(TX_ERROR)         /* driver could not send */                       \
	X(RX_OVERRUN)       /* device input queue full */                     \
	X(NETFILTER_DROP)                                                    \
	X(FRAME_TOO_BIG)    /* larger than the device can carry */

enum mib_id {
#define X(name) MIB_##name,
	US_MIB_LIST(X)
#undef X
	MIB_MAX
};

enum drop_reason {
#define X(name) DROP_##name,
	US_DROP_LIST(X)
#undef X
	DROP_MAX
};

extern const char *const mib_names[MIB_MAX];
extern const char *const drop_names[DROP_MAX];

#endif
