import { render } from "preact";
import "./styles.css";

render(<main>Actorbase console</main>, document.getElementById("app") as HTMLElement);
