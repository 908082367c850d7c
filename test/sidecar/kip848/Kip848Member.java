// A consumer on the KIP-848 group protocol (group.protocol=consumer), for test/sidecar/kip848.test.ts.
// Run as a single source file with the broker's kafka-clients jar on the class path:
//   java -cp "<kafka>/libs/*" Kip848Member.java <bootstrap> <topic> <group> <seconds>
// It prints "assigned [...]" once partitions are assigned, then polls until the time is up.
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class Kip848Member {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("group.id", args[2]);
    p.put("group.protocol", "consumer");
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      c.subscribe(List.of(args[1]));
      long end = System.currentTimeMillis() + Long.parseLong(args[3]) * 1000;
      boolean said = false;
      while (System.currentTimeMillis() < end) {
        c.poll(Duration.ofMillis(500));
        if (!said && !c.assignment().isEmpty()) { System.out.println("assigned " + c.assignment()); said = true; }
      }
    }
  }
}
