import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A PostgreSQL client written as a Java application would write it with pgjdbc: it connects
 * with the jdbc-url entry of the managed Secret, handed to it as the JDBC_URL environment
 * variable, and prints current_user, the driver's name and version, and whether the driver
 * knows the channelBinding parameter (pgjdbc ignores parameters it does not know). The
 * end-to-end demo (hack/demo) compiles it with javac and runs it with the driver's jar on
 * the class path.
 */
public final class JdbcConsumer {
    private JdbcConsumer() {
    }

    public static void main(String[] args) {
        String url = System.getenv("JDBC_URL");
        if (url == null || url.isEmpty()) {
            System.err.println("pgjdbc consumer: JDBC_URL is not set");
            System.exit(2);
        }
        DriverManager.setLoginTimeout(15);
        try (Connection conn = DriverManager.getConnection(url);
                Statement st = conn.createStatement();
                ResultSet rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            System.out.println(rs.getString(1));
            DatabaseMetaData meta = conn.getMetaData();
            System.out.println("pgjdbc " + meta.getDriverVersion() + ", channelBinding "
                    + (knows(url, "channelBinding") ? "known" : "unknown"));
        } catch (SQLException e) {
            // pgjdbc's messages carry no password; the URL itself is never printed.
            System.err.println("pgjdbc consumer: " + e.getMessage());
            System.exit(1);
        }
    }

    /** Reports whether the driver lists name among the properties it understands. */
    private static boolean knows(String url, String name) throws SQLException {
        for (DriverPropertyInfo p : DriverManager.getDriver(url).getPropertyInfo(url, null)) {
            if (p.name.equals(name)) {
                return true;
            }
        }
        return false;
    }
}
