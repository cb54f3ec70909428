using System.Net;
using System.Net.Sockets;

namespace Funnels.ServiceDefaults.Outbound;

/// <summary>
/// Which IP addresses lie inside: loopback, private (10/8, 172.16/12, 192.168/16), carrier-grade
/// NAT (100.64/10), link-local (169.254/16, fe80::/10), unique-local (fc00::/7), multicast,
/// unspecified, broadcast and the other reserved IPv4 ranges, and IPv6 forms that carry one of
/// those (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16).
/// </summary>
public static class OutboundAddresses
{
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return IsPublicV4(address.MapToIPv4().GetAddressBytes());
        }
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => IsPublicV4(address.GetAddressBytes()),
            AddressFamily.InterNetworkV6 => IsPublicV6(address.GetAddressBytes()),
            _ => false,
        };
    }

    private static bool IsPublicV4(byte[] b) => !(
        b[0] == 0                                   // "this network", 0.0.0.0 (unspecified)
        || b[0] == 10                               // private
        || b[0] == 127                              // loopback
        || (b[0] == 100 && (b[1] & 0xC0) == 64)     // 100.64/10, carrier-grade NAT
        || (b[0] == 169 && b[1] == 254)             // link-local (cloud metadata services)
        || (b[0] == 172 && (b[1] & 0xF0) == 16)     // private
        || (b[0] == 192 && b[1] == 168)             // private
        || (b[0] == 192 && b[1] == 0 && b[2] == 0)  // IETF protocol assignments
        || (b[0] == 198 && (b[1] & 0xFE) == 18)     // 198.18/15, benchmarking
        || b[0] >= 224);                            // multicast, reserved, 255.255.255.255 broadcast

    private static bool IsPublicV6(byte[] b)
    {
        if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0)
        {
            // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d (0.0.0.0/8 covers the first two).
            return IsPublicV4(b[12..]);
        }
        if (b[0] == 0xFF) return false;                               // multicast
        if ((b[0] & 0xFE) == 0xFC) return false;                      // fc00::/7 unique-local
        if (b[0] == 0xFE && (b[1] & 0xC0) is 0x80 or 0xC0) return false; // fe80::/10 link-local, fec0::/10 site-local
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
        {
            return IsPublicV4(b[12..]);                               // 64:ff9b::/96 NAT64
        }
        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return IsPublicV4(b[2..6]);                               // 2002::/16 6to4
        }
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) return false; // documentation
        return true;
    }
}
