/** The app config, validated once when the Worker's module loads (a bad config fails startup). */
import config from "../actorbase.config";

export { config };
export const VERSION = "0.1.0";
