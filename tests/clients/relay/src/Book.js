// What a Relay app of roombook would hold: a room page whose reservations paginate
// (@connection over reservationsConnection, refetched through Node), a paginated room list,
// and a booking. relay-compiler checks them against schema.graphql and persists them.
import { graphql } from 'react-relay';

export const book = graphql`
  mutation BookMutation($input: BookRoomInput!) {
    bookRoom(input: $input) {
      id
      start
      room {
        id
      }
    }
  }
`;
