package org.reidhdfs.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

import org.apache.hadoop.conf.Configurable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.net.StandardSocketFactory;

/**
 * Binds each socket Hadoop creates to one local address before it connects.
 *
 * <p>The NameNode identifies a DataNode (and any client) by the source address of its RPC
 * connection. On Linux an unbound socket to any 127.x destination gets the source 127.0.0.1, so
 * DataNodes listening on 127.0.0.11..16 would all register as 127.0.0.1 and the topology script
 * would see a single host. Set {@code hadoop.rpc.socket.factory.class.default} to this class and
 * {@value #BIND_ADDRESS_KEY} to the process's own address: RPC and data-transfer sockets then
 * carry that source address, exactly as on separate machines.
 */
public class BindAddressSocketFactory extends StandardSocketFactory implements Configurable {

  /** Configuration key holding the local address (an IP literal) to bind to. */
  public static final String BIND_ADDRESS_KEY = "reidhdfs.net.bind-address";

  private Configuration conf;
  private InetSocketAddress bindAddress;

  @Override
  public void setConf(Configuration conf) {
    this.conf = conf;
    String address = conf.getTrimmed(BIND_ADDRESS_KEY, "");
    if (address.isEmpty()) {
      throw new IllegalArgumentException(
          BIND_ADDRESS_KEY + " must name the local address to bind to when "
              + getClass().getName() + " is the socket factory");
    }
    this.bindAddress = new InetSocketAddress(address, 0);
    if (bindAddress.isUnresolved()) {
      throw new IllegalArgumentException(
          BIND_ADDRESS_KEY + "=" + address + " is not a resolvable local address");
    }
  }

  @Override
  public Configuration getConf() {
    return conf;
  }

  @Override
  public Socket createSocket() throws IOException {
    Socket socket = super.createSocket();
    socket.bind(bindAddress);
    return socket;
  }

  // NetUtils caches socket factories by equality; two factories bound to different addresses
  // must not be treated as the same one.
  @Override
  public boolean equals(Object other) {
    return other instanceof BindAddressSocketFactory
        && ((BindAddressSocketFactory) other).bindAddress.equals(bindAddress);
  }

  @Override
  public int hashCode() {
    return bindAddress == null ? 0 : bindAddress.hashCode();
  }
}
